//! The ledger's Lua scripts: each operation is one script, so that it is atomic on the server
//! (two replicas never see a record half written, nor both take the same due record).
//!
//! Every record key is `{prefix}rec:{gateway}:{reference}`, a hash with the fields `rank` (its
//! state's [rank](gerbang_core::ledger::WatchState::rank)), `json` (the record) and, when the
//! record has a gateway id, `id` (the name of its id key). The sets `due`, `recorded` and
//! `expires` name records by their record key. The scripts reach record and id keys named in
//! those sets and fields, not only in `KEYS`: they need every key on one server (a standalone
//! Redis), or on a Redis Cluster in one slot, which every key of one ledger shares through its
//! hash tag (the prefix in braces). The `KEYS` of each call route it to that slot's master; the
//! keys read from the sets are in the same slot, which Redis lets a script reach. No script
//! builds a key name itself.

use std::sync::LazyLock;

use redis::Script;

/// How many expired records a [`RECORD`] call forgets from the sets at most: more than one, so
/// that the sets shrink as fast as records expire (each expiry follows a write).
pub(super) const PRUNE_BATCH: u32 = 16;

/// Where each write script starts: lets a script that read `TIME` write on Redis 3.2 to 4 (from
/// 5 on, scripts replicate their effects anyway), and names the keys.
const PRELUDE: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local rec, due, recorded, expires, id = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
";

/// The write itself, shared by [`RECORD`] and [`BEGIN`] (after each one's own check): see
/// [`RECORD`].
const WRITE: &str = r"
local old_id = redis.call('HGET', rec, 'id')
redis.call('HSET', rec, 'rank', ARGV[1], 'json', ARGV[2])
if id then
  redis.call('HSET', rec, 'id', id)
else
  redis.call('HDEL', rec, 'id')
end
if old_id and old_id ~= id and redis.call('GET', old_id) == rec then
  redis.call('DEL', old_id)
end
if id then
  -- SET without KEEPTTL: the id key is kept until told otherwise below.
  redis.call('SET', id, rec)
end
if ARGV[3] ~= '' then
  redis.call('ZADD', due, ARGV[3], rec)
else
  redis.call('ZREM', due, rec)
end
redis.call('ZADD', recorded, ARGV[4], rec)
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if ARGV[3] ~= '' then
  redis.call('PERSIST', rec)
  redis.call('ZREM', expires, rec)
else
  local at = string.format('%.0f', now + tonumber(ARGV[5]))
  redis.call('PEXPIREAT', rec, at)
  if id then
    redis.call('PEXPIREAT', id, at)
  end
  redis.call('ZADD', expires, at, rec)
end
local ended = redis.call('ZRANGEBYSCORE', expires, '-inf', string.format('%.0f', now), 'LIMIT', 0, tonumber(ARGV[6]))
for _, member in ipairs(ended) do
  if redis.call('EXISTS', member) == 0 then
    redis.call('ZREM', recorded, member)
    redis.call('ZREM', expires, member)
    redis.call('ZREM', due, member)
  end
end
";

/// Writes a record unless the stored one ranks higher.
///
/// `KEYS`: the record key, the `due`, `recorded` and `expires` sets, and (only when the record
/// has a gateway id) its id key. `ARGV`: the rank, the JSON, the due score in ms (empty when no
/// check is scheduled), the recorded score in ms, the retention in ms, [`PRUNE_BATCH`].
///
/// Returns 0, writing nothing, when the stored rank is higher; else writes the hash, points the
/// id key at the record key (and deletes the id key of a gateway id the record no longer has,
/// if it still pointed here), adds it to or removes it from `due`, adds it to `recorded`, and
/// returns 1. A record with a check scheduled is kept (`PERSIST`, and out of `expires`); any
/// other expires, with its id key, a retention from now on the server's clock (`PEXPIREAT`), and
/// is added to `expires` with that time as its score. Last, it forgets from the sets up to
/// `ARGV[6]` records of `expires` whose time has come and whose key is gone.
pub(super) static RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{PRELUDE}
local stored = redis.call('HGET', rec, 'rank')
if stored and tonumber(stored) > tonumber(ARGV[1]) then
  return 0
end
{WRITE}
return 1
"
    ))
});

/// Begins a create: writes the record as [`RECORD`] does (same `KEYS` and `ARGV`) unless a
/// record of that key exists whose state is not `not_created`; returns that record's JSON,
/// writing nothing, or nil once written. The check and the write are one script, so of two
/// replicas beginning one reference at once exactly one writes. A stored JSON that does not
/// decode is returned as found (the caller reports it), never overwritten.
pub(super) static BEGIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{PRELUDE}
local stored = redis.call('HGET', rec, 'json')
if stored then
  local ok, decoded = pcall(cjson.decode, stored)
  if not ok or type(decoded) ~= 'table' or decoded['state'] ~= 'not_created' then
    return stored
  end
end
{WRITE}
return false
"
    ))
});

/// Hands out due records.
///
/// `KEYS`: the `due` set. `ARGV`: now in ms, the limit, the lease's end in ms, and the JSON
/// member `"next_check":"<the lease's end>"`.
///
/// Takes up to `ARGV[2]` members scored at most `ARGV[1]`, earliest first; each moves to the
/// lease's end in `due`, and its stored JSON's `next_check` becomes the lease's end (as
/// [`MemoryLedger`](gerbang_core::ledger::MemoryLedger) moves it: whoever reads and rewrites the
/// record meanwhile, a webhook receiver, keeps the lease). Returns, flat, each member and its JSON
/// *as it was*. A member whose record is gone (evicted, deleted by hand) leaves `due`.
///
/// The JSON is serde_json's, so the pattern finds the top-level field only: inside a string
/// value a `"` is always escaped (`\"`), and `next_check` followed straight by `":"` is not.
pub(super) static DUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local due = KEYS[1]
local members = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
local function lease() return ARGV[4] end
for _, member in ipairs(members) do
  local json = redis.call('HGET', member, 'json')
  if json then
    redis.call('ZADD', due, ARGV[3], member)
    local leased, n = string.gsub(json, '"next_check":"[^"]*"', lease, 1)
    if n == 0 then
      leased, n = string.gsub(json, '"next_check":null', lease, 1)
    end
    redis.call('HSET', member, 'json', leased)
    out[#out + 1] = member
    out[#out + 1] = json
  else
    redis.call('ZREM', due, member)
  end
end
return out
"#,
    )
});

/// Finds a record by the gateway's id: `KEYS[1]` is the id key. Returns the JSON of the record
/// the id key points at, or nil. (By the merchant's reference a record is one `HGET`.)
pub(super) static FIND_BY_ID: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local rec = redis.call('GET', KEYS[1])
if rec then
  return redis.call('HGET', rec, 'json')
end
return false
",
    )
});

/// Lists records, the most recently recorded first.
///
/// `KEYS`: the `recorded` and `expires` sets. `ARGV`: the limit. Walks `recorded` from its
/// highest score, in batches of at most 100, until `ARGV[1]` records are found or the set ends;
/// a member whose record expired leaves both sets. Returns, flat, each member and its JSON.
pub(super) static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local recorded, expires = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[1])
local out = {}
local found = 0
local start = 0
while found < limit do
  local want = math.min(limit - found, 100)
  local batch = redis.call('ZREVRANGE', recorded, start, start + want - 1)
  if #batch == 0 then
    break
  end
  local gone = 0
  for _, member in ipairs(batch) do
    local json = redis.call('HGET', member, 'json')
    if json then
      out[#out + 1] = member
      out[#out + 1] = json
      found = found + 1
    else
      redis.call('ZREM', recorded, member)
      redis.call('ZREM', expires, member)
      gone = gone + 1
    end
  end
  start = start + #batch - gone
end
return out
",
    )
});
