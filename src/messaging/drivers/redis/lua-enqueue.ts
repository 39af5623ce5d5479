import { prelude } from './lua-prelude.js';

/**
 * ARGV: dedupe key prefix, window ms, maxLength, overflow, topic groups set ('' for a
 * queue), box base (a queue) or group base prefix (a topic), then the batches as
 * enqueue-args.ts lays them out: runs of plain batches ('p' or 'h', batch count k, record
 * count, k sizes, then the packed id and body, or headers and the packed id and body, per
 * record: stored as field m, see records.ts) and full batches ('f', record count, then id,
 * dedupe flag, key, headers, body and delay ms per record).
 * Several callers' publishes travel in one call; each batch is stored whole or not at all.
 * Returns per batch 1 (a plain batch, stored), 1 (stored) or 0 (duplicate) per record, or
 * an error string.
 */
export const enqueueScript = `${prelude}
local ddp, window, maxLen, overflow = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local boxes = {}
if ARGV[5] ~= '' then
  for _, g in ipairs(redis.call('SMEMBERS', ARGV[5])) do boxes[#boxes + 1] = ARGV[6] .. g end
else
  boxes[1] = ARGV[6]
end

-- Messages held per box (stored, in flight and delayed), read once and kept up to date.
-- A stream with entries was made by an earlier call, group and all.
local held, streams = {}, {}
for i, b in ipairs(boxes) do
  local s = b .. ':s'
  local len = redis.call('XLEN', s)
  if len == 0 then ensure(s) end
  streams[i] = s
  held[b] = len + redis.call('ZCARD', b .. ':d')
end

-- Drops never-delivered entries first (oldest first), then the earliest delayed ones.
local function dropOldest(b, k)
  local s, dropped = b .. ':s', 0
  if redis.call('EXISTS', s) == 1 then
    local last = '0-0'
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', s)) do
      for j = 1, #g, 2 do
        if g[j] == 'last-delivered-id' then last = g[j + 1] end
      end
    end
    local ids = {}
    for _, e in ipairs(redis.call('XRANGE', s, '(' .. last, '+', 'COUNT', k)) do ids[#ids + 1] = e[1] end
    if #ids > 0 then each(ids, function(...) redis.call('XDEL', s, ...) end) end
    dropped = #ids
  end
  if dropped < k then
    dropped = dropped + #redis.call('ZPOPMIN', b .. ':d', k - dropped) / 2
  end
  held[b] = held[b] - dropped
  return dropped
end

-- Whether every box has room for count more without dropping any.
local function fits(count)
  for _, b in ipairs(boxes) do
    if held[b] + count > maxLen then return false end
  end
  return true
end

-- Makes room for count more in every box (or says why not), and counts them as held.
local function room(count)
  for _, b in ipairs(boxes) do
    if held[b] + count > maxLen and (overflow ~= 'drop-oldest' or count > maxLen) then
      return 'SLUICE_QUEUE_FULL queue holds ' .. held[b] .. ' of at most ' .. maxLen .. ' messages'
    end
  end
  for _, b in ipairs(boxes) do
    local excess = held[b] + count - maxLen
    if excess > 0 and dropOldest(b, excess) < excess then
      return 'SLUICE_QUEUE_FULL queue is full of messages in flight'
    end
  end
  for _, b in ipairs(boxes) do held[b] = held[b] + count end
  return nil
end

local now
local function delay(b, id, key, headers, body, ms)
  now = now or nowms()
  local nonce = redis.call('INCR', b .. ':n')
  redis.call('ZADD', b .. ':d', now + ms, cjson.encode({nonce, id, key, headers, body, now}))
end

-- Stores the plain records from ARGV[first] to ARGV[last], width arguments each.
local function plain(first, last, width)
  for _, s in ipairs(streams) do
    if width == 1 then
      for at = first, last do redis.call('XADD', s, '*', 'm', ARGV[at]) end
    else
      for at = first, last, 2 do
        local h = ARGV[at]
        if h == '' then
          redis.call('XADD', s, '*', 'm', ARGV[at + 1])
        else
          redis.call('XADD', s, '*', 'm', ARGV[at + 1], 'h', h)
        end
      end
    end
  end
end

-- Returns the outcome per record, or why nothing was stored.
local function checked(first, n)
  local out, fresh, claimed = {}, {}, {}
  for i = 0, n - 1 do
    local at = first + i * 6
    local dup = false
    if ARGV[at + 1] == '1' and window > 0 then
      -- The id's key is the dedupe window: taken here, or already taken inside it.
      dup = not redis.call('SET', ddp .. ARGV[at], '1', 'NX', 'PX', window)
      if not dup then claimed[#claimed + 1] = ddp .. ARGV[at] end
    end
    out[i + 1] = dup and 0 or 1
    if not dup then fresh[#fresh + 1] = at end
  end
  local full = #fresh > 0 and room(#fresh) or nil
  if full then
    -- Stored nothing, so its ids stay free.
    if #claimed > 0 then each(claimed, function(...) redis.call('DEL', ...) end) end
    return full
  end
  for i, b in ipairs(boxes) do
    local s = streams[i]
    for _, at in ipairs(fresh) do
      local ms = tonumber(ARGV[at + 5])
      if ms > 0 then
        delay(b, ARGV[at], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ms)
      elseif ARGV[at + 2] == '' and ARGV[at + 3] == '' then
        redis.call('XADD', s, '*', 'i', ARGV[at], 'b', ARGV[at + 4])
      else
        redis.call('XADD', s, '*', unpack(fieldsOf(ARGV[at], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], nil)))
      end
    end
  end
  return out, #fresh > 0
end

-- A plain run that fits as a whole is stored in one go; else batch by batch, as any other.
local function plainRun(at, width, results)
  local k, records = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  local first = at + 2 + k
  local last = first + records * width - 1
  if fits(records) then
    for _, b in ipairs(boxes) do held[b] = held[b] + records end
    plain(first, last, width)
    for _ = 1, k do results[#results + 1] = 1 end
    return last + 1, records > 0
  end
  local stored = false
  for i = 0, k - 1 do
    local n = tonumber(ARGV[at + 2 + i])
    local full = room(n)
    if full then
      results[#results + 1] = full
    else
      plain(first, first + n * width - 1, width)
      stored = true
      results[#results + 1] = 1
    end
    first = first + n * width
  end
  return last + 1, stored
end

local results, stored = {}, false
local o = 7
while o <= #ARGV do
  local form, any = ARGV[o], false
  if form == 'f' then
    local n = tonumber(ARGV[o + 1])
    local out
    out, any = checked(o + 2, n)
    results[#results + 1] = out
    o = o + 2 + n * 6
  else
    o, any = plainRun(o + 1, form == 'h' and 2 or 1, results)
  end
  stored = stored or any == true
end
if stored then
  for _, b in ipairs(boxes) do redis.call('PUBLISH', b .. ':w', '1') end
end
return results
`;

/** ARGV: topic groups set, group base, group. */
export const createGroupScript = `${prelude}
redis.call('SADD', ARGV[1], ARGV[3])
ensure(ARGV[2] .. ':s')
return 1
`;
