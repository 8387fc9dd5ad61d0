"""Breaker and rate-limit state in Redis, shared by every replica.

`admit` and `record` are each one Lua script, so a decision and its bookkeeping are atomic,
and they read Redis' own clock, so replicas with skewed clocks still agree. The logic is the
same as `InProcessState`'s, which is also the fallback while Redis cannot be reached.
"""

from __future__ import annotations

import time

from tether.core.envelope import BreakerPolicy, Envelope, TokenBucket
from tether.core.errors import ErrorCode
from tether.core.redis_client import redis_client
from tether.tools.shared_state import (
    Admission,
    BreakerState,
    BreakerUpdate,
    InProcessState,
    refuse,
)

# -- Redis ------------------------------------------------------------------------------------

_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
"""

# KEYS: tool bucket, principal bucket, breaker. ARGV: tool rate/ms, tool burst (0: none),
# principal rate/ms, principal burst, breaker on (1/0), open ms, half-open probes.
_ADMIT = (
    _NOW
    + """
local function refill(key, rate, burst)
  if burst <= 0 then return -1, 0 end
  local v = redis.call('HMGET', key, 't', 's')
  local tokens, stamp = tonumber(v[1]), tonumber(v[2])
  if tokens == nil then tokens, stamp = burst, now end
  tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
  if tokens < 1 then return tokens, (1 - tokens) / rate end
  return tokens, 0
end
local rate1, burst1 = tonumber(ARGV[1]), tonumber(ARGV[2])
local rate2, burst2 = tonumber(ARGV[3]), tonumber(ARGV[4])
local t1, w1 = refill(KEYS[1], rate1, burst1)
local t2, w2 = refill(KEYS[2], rate2, burst2)
local on = ARGV[5] == '1'
local open_ms, max_probes = tonumber(ARGV[6]), tonumber(ARGV[7])
local b = {false, false, false}
if on then b = redis.call('HMGET', KEYS[3], 'state', 'until', 'probes') end
local state = b[1] or 'closed'
local wait = math.max(w1, w2)
if wait > 0 then return {1, tostring(wait), state, 0} end
local probe = 0
if on then
  local untl = tonumber(b[2]) or 0
  local probes = tonumber(b[3]) or 0
  if state == 'open' then
    if now < untl then return {2, tostring(untl - now), state, 0} end
    state, untl, probes = 'half_open', now + open_ms, 0
    redis.call('HSET', KEYS[3], 'state', state, 'until', untl, 'probes', 0, 'ok', 0)
  end
  if state == 'half_open' then
    if now >= untl then
      untl, probes = now + open_ms, 0
      redis.call('HSET', KEYS[3], 'until', untl, 'probes', 0)
    end
    if probes >= max_probes then return {2, tostring(untl - now), state, 0} end
    redis.call('HINCRBY', KEYS[3], 'probes', 1)
    probe = 1
  end
end
if t1 >= 0 then
  redis.call('HSET', KEYS[1], 't', t1 - 1, 's', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(burst1 / rate1) + 1000)
end
if t2 >= 0 then
  redis.call('HSET', KEYS[2], 't', t2 - 1, 's', now)
  redis.call('PEXPIRE', KEYS[2], math.ceil(burst2 / rate2) + 1000)
end
return {0, '0', state, probe}
"""
)

# KEYS: breaker. ARGV: failed (1/0), probe (1/0), failure rate, window ms, min calls, open ms,
# half-open probes.
_RECORD = (
    _NOW
    + """
local key = KEYS[1]
local failed, probe = ARGV[1] == '1', ARGV[2] == '1'
local state = redis.call('HGET', key, 'state') or 'closed'
local function open()
  redis.call('DEL', key)
  redis.call('HSET', key, 'state', 'open', 'until', now + tonumber(ARGV[6]))
  return {'open', 1}
end
if state == 'half_open' then
  if not probe then return {state, 0} end
  if redis.call('HINCRBY', key, 'probes', -1) < 0 then redis.call('HSET', key, 'probes', 0) end
  if failed then return open() end
  if redis.call('HINCRBY', key, 'ok', 1) >= tonumber(ARGV[7]) then
    redis.call('DEL', key)
    return {'closed', 0}
  end
  return {state, 0}
end
if state == 'open' then return {state, 0} end
local window = tonumber(ARGV[4])
local slices = 10
local index = math.floor(now / (window / slices))
redis.call('HINCRBY', key, 'c' .. index, 1)
if failed then redis.call('HINCRBY', key, 'f' .. index, 1) end
local fields = redis.call('HGETALL', key)
local calls, failures = 0, 0
for i = 1, #fields, 2 do
  local kind, n = string.sub(fields[i], 1, 1), tonumber(string.sub(fields[i], 2))
  if (kind == 'c' or kind == 'f') and n then
    if n <= index - slices then
      redis.call('HDEL', key, fields[i])
    elseif kind == 'c' then
      calls = calls + tonumber(fields[i + 1])
    else
      failures = failures + tonumber(fields[i + 1])
    end
  end
end
if calls >= tonumber(ARGV[5]) and failures >= tonumber(ARGV[3]) * calls then return open() end
redis.call('PEXPIRE', key, math.ceil(window * 2))
return {state, 0}
"""
)


class RedisState:
    """Breakers and buckets in Redis, shared by every process that uses the same prefix.

    `pack` names the domain pack whose tools these are: its keys sit under the prefix and the
    pack's name, since two packs may each have a tool of the same name over different
    upstreams. When Redis cannot be reached the call is decided by this process's own state
    (marked `degraded`), and Redis is tried again after `retry_after_s`.
    """

    def __init__(
        self, url: str, prefix: str = "tether:", retry_after_s: float = 5.0, pack: str = ""
    ) -> None:
        self._redis, self._errors = redis_client(url, decode_responses=True)
        self._admit = self._redis.register_script(_ADMIT)
        self._record = self._redis.register_script(_RECORD)
        self.prefix = prefix
        self.pack = pack
        self._scope = f"{prefix}{pack}:" if pack else prefix
        self._local = InProcessState()
        self._retry_after_s = retry_after_s
        self._down_until = 0.0

    def close(self) -> None:
        self._redis.close()

    def _keys(self, tool: str) -> tuple[str, str]:
        # the hash tag keeps one tool's keys on one Redis Cluster slot, as scripts require
        base = f"{self._scope}{{{tool}}}"
        return f"{base}:rate", f"{base}:breaker"

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self) -> None:
        self._down_until = time.monotonic() + self._retry_after_s

    def admit(self, tool: str, principal: str, envelope: Envelope) -> Admission:
        if not self._available():
            return _degraded(self._local.admit(tool, principal, envelope))
        rate, breaker = self._keys(tool)
        limits, policy = envelope.rate_limit, envelope.breaker
        per_tool = limits.per_tool if limits else None
        per_principal = limits.per_principal if limits else None
        args = [
            *_bucket_args(per_tool),
            *_bucket_args(per_principal),
            1 if policy else 0,
            int(policy.open_s * 1000) if policy else 0,
            policy.half_open_probes if policy else 0,
        ]
        try:
            verdict, wait_ms, state, probe = self._admit(
                keys=[rate, f"{rate}:{principal}", breaker], args=args
            )
        except self._errors:
            self._failed()
            return _degraded(self._local.admit(tool, principal, envelope))
        breaker_state = BreakerState(state)
        if verdict == 0:
            return Admission(True, breaker=breaker_state, probe=bool(probe))
        code = ErrorCode.RATE_LIMITED if verdict == 1 else ErrorCode.CIRCUIT_OPEN
        return refuse(code, float(wait_ms) / 1000, breaker_state)

    def record(self, tool: str, policy: BreakerPolicy, failed: bool, probe: bool) -> BreakerUpdate:
        if not self._available():
            return _degraded_update(self._local.record(tool, policy, failed, probe))
        args = [
            int(failed),
            int(probe),
            policy.failure_rate,
            policy.window_s * 1000,
            policy.min_calls,
            int(policy.open_s * 1000),
            policy.half_open_probes,
        ]
        try:
            state, opened = self._record(keys=[self._keys(tool)[1]], args=args)
        except self._errors:
            self._failed()
            return _degraded_update(self._local.record(tool, policy, failed, probe))
        return BreakerUpdate(BreakerState(state), opened=bool(opened))

    def breaker(self, tool: str) -> BreakerState:
        try:
            state = self._redis.hget(self._keys(tool)[1], "state")
        except self._errors:
            return self._local.breaker(tool)
        return BreakerState(state) if isinstance(state, str) else BreakerState.CLOSED


def _bucket_args(spec: TokenBucket | None) -> tuple[float, int]:
    return (spec.rate_per_s / 1000, spec.burst) if spec else (0.0, 0)


def _degraded(admission: Admission) -> Admission:
    return Admission(
        admission.allowed,
        admission.code,
        admission.retry_after_s,
        admission.breaker,
        admission.probe,
        degraded=True,
    )


def _degraded_update(update: BreakerUpdate) -> BreakerUpdate:
    return BreakerUpdate(update.state, update.opened, degraded=True)
