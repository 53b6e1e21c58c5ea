/**
 * The Lua script that merges packed series values into a bucket hash on the Redis side, so values from every
 * instance add up on write (one key, one round trip, Redis Cluster safe). It mirrors `mergeSeriesInto` +
 * `encodeSeries` of shared/seriesCodec.ts on the packed form:
 * `[FORMAT, count, errors, sumUs, n1xx..n5xx, firstBucket, c0..ck]` (MessagePack, via Redis' bundled cmsgpack).
 *
 * KEYS[1] = bucket hash; ARGV[1] = PEXPIREAT (epoch ms); ARGV[2..] = field, packed value pairs.
 * Returns the number of fields written. A stored value of another format is replaced by the incoming one.
 */
export const MERGE_SERIES_LUA = `
local function merge(a, b)
  local out = { a[1] }
  for i = 2, 9 do out[i] = (a[i] or 0) + (b[i] or 0) end
  local na, nb = #a - 10, #b - 10
  if na <= 0 and nb <= 0 then out[10] = 0 return out end
  if na <= 0 then for i = 10, #b do out[i] = b[i] end return out end
  if nb <= 0 then for i = 10, #a do out[i] = a[i] end return out end
  local sa, sb = a[10], b[10]
  local ea, eb = sa + na - 1, sb + nb - 1
  local s = math.min(sa, sb)
  local e = math.max(ea, eb)
  out[10] = s
  for idx = s, e do
    local v = 0
    if idx >= sa and idx <= ea then v = v + a[11 + idx - sa] end
    if idx >= sb and idx <= eb then v = v + b[11 + idx - sb] end
    out[11 + idx - s] = v
  end
  return out
end
local n = 0
for i = 2, #ARGV, 2 do
  local field, packed = ARGV[i], ARGV[i + 1]
  local current = redis.call('HGET', KEYS[1], field)
  if current then
    local a = cmsgpack.unpack(current)
    local b = cmsgpack.unpack(packed)
    if type(a) == 'table' and a[1] == b[1] then packed = cmsgpack.pack(merge(a, b)) end
  end
  redis.call('HSET', KEYS[1], field, packed)
  n = n + 1
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return n
`
