import { prelude } from './lua-prelude.js';

/**
 * ARGV: dedupe key prefix, window ms, maxLength, overflow, topic groups set ('' for a
 * queue), box base (a queue) or group base prefix (a topic), then batches: each is a record
 * count followed by, per record, id, dedupe flag, key, headers, body, delay ms. Several
 * callers' publishes travel in one call; each batch is stored whole or not at all. Returns
 * per batch either 1 (stored) or 0 (duplicate) per record, or an error string.
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
local held = {}
for _, b in ipairs(boxes) do held[b] = redis.call('XLEN', b .. ':s') + redis.call('ZCARD', b .. ':d') end

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
  return nil
end

local now = nowms()
for _, b in ipairs(boxes) do ensure(b .. ':s') end
local results, stored = {}, false
local o = 7
while o <= #ARGV do
  local n = tonumber(ARGV[o])
  local first = o + 1
  o = first + n * 6
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
    results[#results + 1] = full
  else
    for _, b in ipairs(boxes) do
      held[b] = held[b] + #fresh
      for _, at in ipairs(fresh) do
        local delay = tonumber(ARGV[at + 5])
        if delay > 0 then
          local nonce = redis.call('INCR', b .. ':n')
          local member = cjson.encode({nonce, ARGV[at], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], now})
          redis.call('ZADD', b .. ':d', now + delay, member)
        elseif ARGV[at + 2] == '' and ARGV[at + 3] == '' then
          redis.call('XADD', b .. ':s', '*', 'i', ARGV[at], 'b', ARGV[at + 4])
        else
          redis.call('XADD', b .. ':s', '*', unpack(fieldsOf(ARGV[at], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], nil)))
        end
      end
    end
    stored = stored or #fresh > 0
    results[#results + 1] = out
  end
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
