-- wrk script for the Pizza 42 benchmark.
--   wrk ... -s bench/load.lua URL -- get  NONCE "Header: value"
--   wrk ... -s bench/load.lua URL -- post|postkey NONCE TOKEN1 TOKEN2 ...
-- GET sends one fixed request with the given header. POST rotates over the tokens (one customer each);
-- postkey adds a unique Idempotency-Key per request (setup() sets thread_id, a global of each thread).
-- done() prints one JSON line for bench/load.py.

local counter = 0
local mode, nonce, static_request
local tokens = {}
local bodies = {
  '{"pizza":"Margherita","size":"medium","quantity":2}',
  '{"pizza":"Pepperoni","size":"large","quantity":1}',
  '{"pizza":"Supreme","size":"small","quantity":3}',
  '{"pizza":"Hawaiian","size":"medium","quantity":1}',
}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end

function init(args)
  mode, nonce = args[1], args[2]
  if mode == "get" then
    local name, value = string.match(args[3], "^([^:]+):%s*(.*)$")
    local headers = {}
    headers[name] = value
    static_request = wrk.format("GET", nil, headers, nil)
  else
    for i = 3, #args do
      tokens[#tokens + 1] = args[i]
    end
  end
end

function request()
  if static_request then
    return static_request
  end
  counter = counter + 1
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1],
    ["Content-Type"] = "application/json",
  }
  if mode == "postkey" then
    headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", nonce, thread_id, counter)
  end
  return wrk.format("POST", nil, headers, bodies[(counter % #bodies) + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
