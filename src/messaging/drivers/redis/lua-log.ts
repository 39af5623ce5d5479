/**
 * Logs are streams whose entry ids are `0-<offset>`, so an offset is read directly with
 * XRANGE; each entry carries its append time in `t` for reads from a time and retention
 * by age. Offsets are contiguous because retention only trims the front.
 */
const logPrelude = `
local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function field(f, name)
  for i = 1, #f, 2 do
    if f[i] == name then return f[i + 1] end
  end
  return nil
end
local function seqOf(id) return tonumber(string.sub(id, string.find(id, '-', 1, true) + 1)) end
local function timeAt(s, seq) return tonumber(field(redis.call('XRANGE', s, '0-' .. seq, '+', 'COUNT', 1)[1][2], 't')) end
-- The offset of the first entry appended at or after time, or nil when there is none.
local function lowerBound(s, time)
  local first = redis.call('XRANGE', s, '-', '+', 'COUNT', 1)[1]
  if not first then return nil end
  local last = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)[1]
  if tonumber(field(last[2], 't')) < time then return nil end
  local lo, hi = seqOf(first[1]), seqOf(last[1])
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if timeAt(s, mid) >= time then hi = mid else lo = mid + 1 end
  end
  return lo
end
local function latest(s)
  if redis.call('EXISTS', s) == 0 then return 1 end
  local info = redis.call('XINFO', 'STREAM', s)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return seqOf(info[i + 1]) + 1 end
  end
  return 1
end
`;

/** ARGV: stream, channel, max count ('' for none), max age ms ('' for none), then per record id, key, headers, body. */
export const appendScript = `${logPrelude}
local s = ARGV[1]
local now = nowms()
local offsets = {}
for o = 5, #ARGV, 4 do
  local f = {'i', ARGV[o], 'b', ARGV[o + 3], 't', now}
  if ARGV[o + 1] ~= '' then f[#f + 1] = 'k'; f[#f + 1] = ARGV[o + 1] end
  if ARGV[o + 2] ~= '' then f[#f + 1] = 'h'; f[#f + 1] = ARGV[o + 2] end
  offsets[#offsets + 1] = seqOf(redis.call('XADD', s, '0-*', unpack(f)))
end
if ARGV[3] ~= '' then redis.call('XTRIM', s, 'MAXLEN', ARGV[3]) end
if ARGV[4] ~= '' then
  local keep = lowerBound(s, now - tonumber(ARGV[4]))
  if keep then redis.call('XTRIM', s, 'MINID', '0-' .. keep) end
end
redis.call('PUBLISH', ARGV[2], '1')
return offsets
`;

/** ARGV: stream, 'latest' | 'earliest' | 'time', time. */
export const resolveScript = `${logPrelude}
local s, mode = ARGV[1], ARGV[2]
if mode == 'latest' then return latest(s) end
if mode == 'earliest' then
  local first = redis.call('XRANGE', s, '-', '+', 'COUNT', 1)[1]
  if first then return seqOf(first[1]) end
  return latest(s)
end
return lowerBound(s, tonumber(ARGV[3])) or latest(s)
`;
