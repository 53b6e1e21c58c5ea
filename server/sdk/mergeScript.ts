/**
 * The Lua script that folds an instance's own value of a series into the series' shared value, on the Redis side
 * (docs/decisions/006; the packed value format is 005's). While a time bucket is open each instance overwrites its own cumulative field
 * (`<series>\t<instance tag>`); once the bucket has closed, the instance folds: shared += own, then own is deleted.
 * The fold reads `own` from Redis, so repeating it is harmless (the second time there is nothing left to fold).
 *
 * Values are the packed layout of shared/seriesCodec.ts, `[FORMAT, count, errors, sumUs, n1xx..n5xx, firstBucket,
 * c0..ck]` (MessagePack, via Redis' bundled cmsgpack); the merge mirrors `mergeSeriesInto` and is checked equal to
 * it in mergeScript.test.ts. It works in place on the shared value and walks only the incoming bucket run.
 *
 * Redis is an input here too (docs/decisions/014): a script that loops holds every client of the server (`BUSY`),
 * so both values are checked by `read` — the same bounds as `readPacked` in shared/seriesCodec.ts (at most
 * MAX_PACKED_BYTES, one array of 10 … MAX_PACKED_LENGTH non-negative safe integers, the format, the bucket run inside
 * the layout, counts adding up) — before any loop runs; every loop is then bounded by BUCKET_COUNT. A value that
 * fails: an own one is dropped (deleted without folding: it could not be read by anyone); a shared one is replaced
 * by the incoming own value (the readers skip it anyway, and the own data is kept); the script stays O(field size).
 *
 * KEYS[1] = bucket hash; ARGV[1] = PEXPIREAT (epoch ms); ARGV[2..] = (own field, shared field) pairs.
 * Returns `{ folded, dropped }`: own fields folded into their shared field, and own fields deleted as unreadable.
 */
import { BUCKET_COUNT } from '../../shared/histogram'
import { MAX_PACKED_BYTES, MAX_PACKED_LENGTH, SERIES_COUNTS_AT, SERIES_FORMAT } from '../../shared/seriesCodec'

export const FOLD_SERIES_LUA = `
local MAX_BYTES, MAX_LEN, BUCKETS, FORMAT, AT = ${MAX_PACKED_BYTES}, ${MAX_PACKED_LENGTH}, ${BUCKET_COUNT}, ${SERIES_FORMAT}, ${SERIES_COUNTS_AT + 1}
local MAX_SAFE = 9007199254740991
local function one(ok, ...)
  if ok and select('#', ...) == 1 then return (...) end
  return nil
end
-- The packed value in s, or nil when it is not one readPacked would accept.
local function read(s)
  if type(s) ~= 'string' or #s > MAX_BYTES then return nil end
  local t = one(pcall(cmsgpack.unpack, s))
  if type(t) ~= 'table' then return nil end
  local n = #t
  if n < AT - 1 or n > MAX_LEN or t[1] ~= FORMAT then return nil end
  local keys = 0
  for _ in pairs(t) do
    keys = keys + 1
    if keys > n then return nil end
  end
  for i = 1, n do
    local x = t[i]
    if type(x) ~= 'number' or not (x >= 0 and x <= MAX_SAFE) or x ~= math.floor(x) then return nil end
  end
  if n >= AT and t[AT - 1] + (n - AT + 1) > BUCKETS then return nil end
  local hist, classes = 0, 0
  for i = AT, n do hist = hist + t[i] end
  for i = 5, 9 do classes = classes + t[i] end
  if hist ~= t[2] or t[3] > t[2] or classes > t[2] then return nil end
  return t
end
local function merge(a, b)
  for i = 2, 9 do a[i] = (a[i] or 0) + (b[i] or 0) end
  local nb = #b - 10
  if nb <= 0 then return a end
  local na = #a - 10
  if na <= 0 then
    for i = 10, #b do a[i] = b[i] end
    return a
  end
  local sa, sb = a[10], b[10]
  if sb < sa then
    local shift = sa - sb
    for i = #a, 11, -1 do a[i + shift] = a[i] end
    for i = 11, 10 + shift do a[i] = 0 end
    a[10] = sb
    sa = sb
    na = na + shift
  end
  local ea, eb = sa + na - 1, sb + nb - 1
  for idx = ea + 1, eb do a[11 + idx - sa] = 0 end
  local d = sb - sa
  for j = 11, #b do a[j + d] = a[j + d] + b[j] end
  return a
end
local folded, dropped = 0, 0
for i = 2, #ARGV, 2 do
  local ownField, sharedField = ARGV[i], ARGV[i + 1]
  local own = redis.call('HGET', KEYS[1], ownField)
  if own then
    local b = read(own)
    if b then
      local value = own
      local a = read(redis.call('HGET', KEYS[1], sharedField))
      if a then value = cmsgpack.pack(merge(a, b)) end
      redis.call('HSET', KEYS[1], sharedField, value)
      folded = folded + 1
    else
      dropped = dropped + 1
    end
    redis.call('HDEL', KEYS[1], ownField)
  end
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return { folded, dropped }
`
