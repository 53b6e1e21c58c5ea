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
 * KEYS[1] = bucket hash; ARGV[1] = PEXPIREAT (epoch ms); ARGV[2..] = (own field, shared field) pairs.
 * Returns the number of own fields folded. A shared value of another format is replaced by the incoming one.
 */
export const FOLD_SERIES_LUA = `
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
local folded = 0
for i = 2, #ARGV, 2 do
  local ownField, sharedField = ARGV[i], ARGV[i + 1]
  local own = redis.call('HGET', KEYS[1], ownField)
  if own then
    local shared = redis.call('HGET', KEYS[1], sharedField)
    local value = own
    if shared then
      local a = cmsgpack.unpack(shared)
      local b = cmsgpack.unpack(own)
      if type(a) == 'table' and type(b) == 'table' and a[1] == b[1] then value = cmsgpack.pack(merge(a, b)) end
    end
    redis.call('HSET', KEYS[1], sharedField, value)
    redis.call('HDEL', KEYS[1], ownField)
    folded = folded + 1
  end
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return folded
`
