import { prelude } from './lua-prelude.js';

/**
 * ARGV: box base, consumer, n, then n entry ids on their first delivery with no key (token 1,
 * the common case), then other receipts. Acks what each still holds; stale ones do nothing.
 * While no entry of the box was ever redelivered (no :a), every first delivery is current,
 * and those n cost no work per message here.
 */
export const ackScript = `${prelude}
local b, c, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ids, tokens, keys = {}, {}, {}
for i = 4, 3 + n do
  ids[#ids + 1] = ARGV[i]
  tokens[#ids] = '1'
end
for i = 4 + n, #ARGV do
  local id, tok, key = parse(ARGV[i])
  if id then
    ids[#ids + 1] = id
    tokens[#ids] = tok
    keys[#ids] = key
  end
end
if #ids == 0 then return 0 end
-- No :a means every entry is on its first delivery (token 1).
local redelivered = redis.call('EXISTS', b .. ':a') == 1
if n == #ids and not redelivered then
  finish(b, ids)
  return n
end
local current = {}
if redelivered then
  each(ids, function(...)
    for _, v in ipairs(redis.call('HMGET', b .. ':a', ...)) do current[#current + 1] = v end
  end)
end
local done, wake = {}, false
for i, id in ipairs(ids) do
  if (current[i] or '1') == tokens[i] then
    done[#done + 1] = id
    if keys[i] and advance(b, c, keys[i], id) then wake = true end
  end
end
finish(b, done)
if wake then redis.call('PUBLISH', b .. ':w', '1') end
return #done
`;

/** ARGV: box base, consumer, receipt, delay ms, count attempt ('1' or '0'). */
export const releaseScript = `${prelude}
local b, c = ARGV[1], ARGV[2]
local id, tok = parse(ARGV[3])
if not valid(b, id, tok) then return 0 end
local delay = tonumber(ARGV[4])
if #lease(b, c, {id}, math.min(delay, H)) == 0 then return 0 end
redis.call('ZADD', b .. ':r', nowms() + delay, id)
if ARGV[5] == '0' then redis.call('HINCRBY', b .. ':u', id, 1) end
redis.call('PUBLISH', b .. ':w', '1')
return 1
`;

/** ARGV: box base, consumer, lease ms, receipts... Returns the receipts whose lease was lost. */
export const extendScript = `${prelude}
local b, c = ARGV[1], ARGV[2]
local released = redis.call('EXISTS', b .. ':r') == 1
local lost, ids, receipts = {}, {}, {}
for i = 4, #ARGV do
  local id, tok = parse(ARGV[i])
  if valid(b, id, tok) and not (released and redis.call('ZSCORE', b .. ':r', id)) then
    ids[#ids + 1] = id
    receipts[id] = ARGV[i]
  else
    lost[#lost + 1] = ARGV[i]
  end
end
local kept = {}
for _, id in ipairs(lease(b, c, ids, tonumber(ARGV[3]))) do kept[id] = true end
for _, id in ipairs(ids) do
  if not kept[id] then lost[#lost + 1] = receipts[id] end
end
return lost
`;

/** ARGV: box base, consumer, receipt, error, dead letters kept at most. */
export const deadLetterScript = `${prelude}
local b, c = ARGV[1], ARGV[2]
local id, tok, key = parse(ARGV[3])
if not valid(b, id, tok) then return 0 end
local now = nowms()
local e = redis.call('XRANGE', b .. ':s', id, id)[1]
if e then
  local f = e[2]
  local attempt = tonumber(tok) - tonumber(redis.call('HGET', b .. ':u', id) or '0')
  -- The message's fields as stored (any format), with its publish time.
  local dead = messageOf(f)
  if not field(f, 't') then
    dead[#dead + 1] = 't'
    dead[#dead + 1] = string.sub(id, 1, string.find(id, '-', 1, true) - 1)
  end
  for _, v in ipairs({'a', attempt, 'f', now, 'e', ARGV[4]}) do dead[#dead + 1] = v end
  redis.call('XADD', b .. ':x', 'MAXLEN', '~', ARGV[5], '*', unpack(dead))
end
finish(b, {id})
if key then advance(b, c, key, id) end
redis.call('PUBLISH', b .. ':w', '1')
return 1
`;
