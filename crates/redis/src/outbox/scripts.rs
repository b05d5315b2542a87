//! The outbox's Lua scripts: each operation is one script, atomic on the server, so that two
//! replicas never take the same message, nor see one half settled.
//!
//! Every script is given the outbox's fifteen keys, in the order of [`KEY_NAMES`], and touches
//! no other: per message and per payment data are fields and members of those keys, never keys
//! of their own, so that the set of keys is fixed and known before the script runs (a Redis
//! Cluster routes a script by its `KEYS`; all fifteen share one hash tag, hence one slot).
//!
//! Times are the server's (`TIME`), in microseconds since the Unix epoch, so that replicas with
//! skewed clocks agree on leases and due times; a retry's time is the caller's, as the trait
//! says. A message's `received` time is also its place in the order of enqueueing: the script
//! makes it strictly increasing (one microsecond past the last when the clock has not moved on).
//!
//! A message's state (the `meta` hash, one JSON object per id, every number a string so that
//! microseconds survive `cjson`): `payment`, `rank`, `state`, `attempts`, `last_answer`,
//! `received`, `next` (while pending), `settled`, `replayed` (`"1"`), and while taken `holder`
//! (the taker's token, also its consumer's name in the stream's group), `lease_until` and
//! `entry` (its stream entry's id).

use std::sync::LazyLock;

use redis::Script;

/// The name of each key after the outbox's key prefix, in the order every script gets them.
pub(super) const KEY_NAMES: [&str; 15] = [
    "msg",
    "meta",
    "queue",
    "due",
    "pay:held",
    "pay:rank",
    "pay:kept",
    "all",
    "state:pending",
    "state:delivered",
    "state:failed",
    "state:superseded",
    "settled",
    "clock",
    "stream",
];

/// The consumer group the stream's entries are read in: one for every replica.
pub(super) const GROUP: &str = "deliverers";

/// How many messages one call of [`PRUNE`] or of [`REPLAY`] by time handles at most: a bound on
/// how long the server is busy with one script.
pub(super) const BATCH: u32 = 500;

/// What every script starts with: the keys by name, and the helpers.
const PRELUDE: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local K_MSG, K_META, K_QUEUE, K_DUE, K_HELD, K_RANK, K_KEPT, K_ALL = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local STATE = { pending = KEYS[9], delivered = KEYS[10], failed = KEYS[11], superseded = KEYS[12] }
local K_SETTLED, K_CLOCK, K_STREAM = KEYS[13], KEYS[14], KEYS[15]
local GROUP = 'deliverers'

local function num(n) return string.format('%.0f', n) end

-- The server's clock, in microseconds.
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function load(id)
  local raw = redis.call('HGET', K_META, id)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function save(id, m) redis.call('HSET', K_META, id, cjson.encode(m)) end

-- A pending message's member of the queue: its payment, NUL, then rank and received time in
-- fixed width, then the id; so that a payment's members sort together, lowest rank first, then
-- first enqueued. Payments never hold a NUL (the client hashes one that does).
local function member(id, m)
  return m.payment .. '\0' .. string.format('%03d', tonumber(m.rank)) .. string.format('%017.0f', tonumber(m.received)) .. id
end

-- The id of payment p's first pending message, or nil.
local function head_of(p)
  local first = redis.call('ZRANGEBYLEX', K_QUEUE, '[' .. p .. '\0', '(' .. p .. '\1', 'LIMIT', 0, 1)[1]
  if not first then return nil end
  return string.sub(first, #p + 22)
end

local function move(id, m, to)
  redis.call('ZREM', STATE[m.state], id)
  m.state = to
  redis.call('ZADD', STATE[to], m.received, id)
end

-- Deletes consumer c once it holds nothing: a consumer is one take, there would be no end of them.
local function forget_consumer(c)
  if #redis.call('XPENDING', K_STREAM, GROUP, '-', '+', 1, c) == 0 then
    redis.call('XGROUP', 'DELCONSUMER', K_STREAM, GROUP, c)
  end
end

-- Acknowledges and deletes m's stream entry, if it has one: the stream holds taken messages only.
local function release(m)
  if m.entry then
    redis.call('XACK', K_STREAM, GROUP, m.entry)
    redis.call('XDEL', K_STREAM, m.entry)
    if m.holder then forget_consumer(m.holder) end
    m.entry = nil
  end
end

-- Schedules payment p (not under lease) at its first pending message's next attempt, or
-- forgets it when nothing of it is pending.
local function schedule(p)
  local id = head_of(p)
  if not id then
    redis.call('ZREM', K_DUE, p)
    return
  end
  redis.call('ZADD', K_DUE, load(id).next, p)
end

-- m leaves the pending messages for good, as `state`.
local function finish(id, m, state, now)
  redis.call('ZREM', K_QUEUE, member(id, m))
  move(id, m, state)
  m.next, m.holder, m.lease_until = nil, nil, nil
  m.settled = num(now)
  if state ~= 'failed' then redis.call('ZADD', K_SETTLED, m.settled, id) end
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

/// Keeps a message. `ARGV`: id, the message's JSON, its payment (as kept), its rank.
///
/// Returns `already` (an id kept already: nothing changes), `superseded` (its payment has a
/// higher rank delivered: kept as such) or `new` (pending, due now: in the queue, and its
/// payment scheduled now when it is the payment's first and the payment is not under lease).
pub(super) static ENQUEUE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local id, json, p, rank = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', K_META, id) == 1 then return 'already' end
local now = now_us()
local last = tonumber(redis.call('GET', K_CLOCK) or '0')
if now <= last then now = last + 1 end
redis.call('SET', K_CLOCK, num(now))
local m = { payment = p, rank = rank, attempts = '0', received = num(now) }
redis.call('HSET', K_MSG, id, json)
redis.call('HINCRBY', K_KEPT, p, 1)
redis.call('ZADD', K_ALL, m.received, id)
local top = redis.call('HGET', K_RANK, p)
if top and tonumber(top) > tonumber(rank) then
  m.state, m.settled = 'superseded', m.received
  redis.call('ZADD', STATE.superseded, m.received, id)
  redis.call('ZADD', K_SETTLED, m.settled, id)
  save(id, m)
  return 'superseded'
end
m.state, m.next = 'pending', m.received
redis.call('ZADD', STATE.pending, m.received, id)
redis.call('ZADD', K_QUEUE, 0, member(id, m))
save(id, m)
if redis.call('HEXISTS', K_HELD, p) == 0 and head_of(p) == id then
  redis.call('ZADD', K_DUE, m.next, p)
end
return 'new'
",
    )
});

/// Takes up to `ARGV[1]` due messages for `ARGV[2]` microseconds, for holder `ARGV[3]`.
///
/// Walks the payments scheduled at or before now, oldest first. A payment found there is not
/// under lease (its lease, if any, ran out: it is forgotten). Its first pending message ranked
/// below its delivered rank (and not replayed) is superseded, until one is not; that one, if
/// due, is taken: its stream entry (a former holder's, whose lease ran out) is claimed for the
/// holder (`XCLAIM`), or a new entry added and read in the group as the holder (`XREADGROUP`);
/// the payment is then scheduled at the lease's end, so that no one takes of it meanwhile. If
/// not due, the payment is scheduled at its time.
///
/// Returns the taken messages as `[json, meta, …]`, the oldest due first.
pub(super) static TAKE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local limit, lease, holder = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local now = now_us()
local lease_until = num(now + lease)
redis.pcall('XGROUP', 'CREATE', K_STREAM, GROUP, '$', 'MKSTREAM')
local taken, added, out = 0, {}, {}
while taken < limit do
  local payments = redis.call('ZRANGEBYSCORE', K_DUE, '-inf', num(now), 'LIMIT', 0, limit - taken)
  if #payments == 0 then break end
  for _, p in ipairs(payments) do
    redis.call('HDEL', K_HELD, p)
    local top = tonumber(redis.call('HGET', K_RANK, p) or '-1')
    local id, m
    while true do
      id = head_of(p)
      if not id then break end
      m = load(id)
      if m.replayed or tonumber(m.rank) >= top then break end
      release(m)
      finish(id, m, 'superseded', now)
      save(id, m)
    end
    if not id then
      redis.call('ZREM', K_DUE, p)
    elseif tonumber(m.next) > now then
      redis.call('ZADD', K_DUE, m.next, p)
    else
      local previous = m.holder
      m.holder, m.lease_until = holder, lease_until
      if m.entry then
        local claimed = redis.call('XCLAIM', K_STREAM, GROUP, holder, 0, m.entry)
        if not claimed[1] then
          -- Acknowledged or deleted by hand: a new entry stands for it.
          redis.call('XDEL', K_STREAM, m.entry)
          m.entry = nil
        end
        if previous and previous ~= holder then forget_consumer(previous) end
      end
      if not m.entry then
        m.entry = redis.call('XADD', K_STREAM, '*', 'id', id)
        added[m.entry] = true
      end
      save(id, m)
      redis.call('HSET', K_HELD, p, id)
      redis.call('ZADD', K_DUE, lease_until, p)
      taken = taken + 1
      out[#out + 1] = redis.call('HGET', K_MSG, id)
      out[#out + 1] = cjson.encode(m)
    end
  end
end
if next(added) then
  -- Only this script's entries are unread: each take reads what it adds. One that is not
  -- (left by a script that failed half way) names no message: it goes.
  local read = redis.call('XREADGROUP', 'GROUP', GROUP, holder, 'STREAMS', K_STREAM, '>')
  for _, entry in ipairs(read[1][2]) do
    if not added[entry[1]] then
      redis.call('XACK', K_STREAM, GROUP, entry[1])
      redis.call('XDEL', K_STREAM, entry[1])
    end
  end
end
return out
",
    )
});

/// Settles message `ARGV[1]` for holder `ARGV[2]`: `ARGV[3]` is `delivered`, `retry` or
/// `failed`, `ARGV[4]` the answer, `ARGV[5]` the retry's time (microseconds).
///
/// Returns 0, changing nothing, unless the message is pending and `ARGV[2]` its holder. Else
/// acknowledges and deletes its stream entry, counts the attempt, records the answer, and
/// schedules its next attempt (retry) or ends it (delivered, raising its payment's delivered
/// rank; failed); if its payment's lease is this message's, schedules the payment at its next
/// first message. Returns 1.
pub(super) static SETTLE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local id, holder, outcome = ARGV[1], ARGV[2], ARGV[3]
local m = load(id)
if not m or m.state ~= 'pending' or m.holder ~= holder then return 0 end
local now = now_us()
local p = m.payment
release(m)
m.holder, m.lease_until = nil, nil
m.attempts = num(tonumber(m.attempts) + 1)
m.last_answer = ARGV[4]
if outcome == 'retry' then
  m.next = ARGV[5]
else
  finish(id, m, outcome, now)
  if outcome == 'delivered' then
    local top = redis.call('HGET', K_RANK, p)
    if not top or tonumber(top) < tonumber(m.rank) then redis.call('HSET', K_RANK, p, m.rank) end
  end
end
save(id, m)
if redis.call('HGET', K_HELD, p) == id then
  redis.call('HDEL', K_HELD, p)
  schedule(p)
end
return 1
",
    )
});

/// Replays messages: `ARGV[1]` is `ids` (then the ids) or `since` (then the first received
/// time in microseconds, `(`-prefixed for an exclusive one, and [`BATCH`]).
///
/// Each message found becomes pending (back in its payment's queue, if it had left it; a lease
/// it is under is kept), replayed (never superseded), with its attempts from zero, due now; its
/// payment, unless under lease, is scheduled at its first message's time.
///
/// Returns `[how many were found, how many were looked at, the received time of the last one
/// looked at]` (by time: when fewer than [`BATCH`] were looked at, there are no more).
pub(super) static REPLAY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local ids, last = {}, ''
if ARGV[1] == 'ids' then
  for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  local scored = redis.call('ZRANGEBYSCORE', K_ALL, ARGV[2], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
  for i = 1, #scored, 2 do ids[#ids + 1] = scored[i] end
  if #scored > 0 then last = scored[#scored] end
end
local now = num(now_us())
local found = 0
for _, id in ipairs(ids) do
  local m = load(id)
  if m then
    found = found + 1
    m.replayed = '1'
    if m.state ~= 'pending' then
      release(m)
      redis.call('ZREM', K_SETTLED, id)
      move(id, m, 'pending')
      m.settled, m.holder, m.lease_until = nil, nil, nil
      redis.call('ZADD', K_QUEUE, 0, member(id, m))
    end
    m.attempts, m.next = '0', now
    save(id, m)
    if redis.call('HEXISTS', K_HELD, m.payment) == 0 then schedule(m.payment) end
  end
end
return { found, #ids, last }
",
    )
});

/// The messages of state `ARGV[1]` (any when empty) received at or after `ARGV[2]`
/// (microseconds, or `-inf`), the first `ARGV[3]` in the order enqueued, as `[json, meta, …]`.
pub(super) static LIST: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local set = K_ALL
if ARGV[1] ~= '' then set = STATE[ARGV[1]] end
local ids = redis.call('ZRANGEBYSCORE', set, ARGV[2], '+inf', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local json, meta = redis.call('HGET', K_MSG, id), redis.call('HGET', K_META, id)
  if json and meta then
    out[#out + 1] = json
    out[#out + 1] = meta
  end
end
return out
",
    )
});

/// Forgets up to `ARGV[2]` delivered and superseded messages settled before `ARGV[1]`
/// (microseconds, exclusive); a payment none of whose messages is left is forgotten with its
/// delivered rank. Returns how many.
pub(super) static PRUNE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local ids = redis.call('ZRANGEBYSCORE', K_SETTLED, '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local m = load(id)
  redis.call('HDEL', K_MSG, id)
  redis.call('HDEL', K_META, id)
  redis.call('ZREM', K_ALL, id)
  redis.call('ZREM', K_SETTLED, id)
  if m then
    release(m)
    redis.call('ZREM', STATE[m.state], id)
    if redis.call('HINCRBY', K_KEPT, m.payment, -1) <= 0 then
      redis.call('HDEL', K_KEPT, m.payment)
      redis.call('HDEL', K_RANK, m.payment)
    end
  end
end
return #ids
",
    )
});
