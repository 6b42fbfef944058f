-- GET $BENCH_PATH (with an optional $BENCH_COOKIE) and write the JSON summary to $BENCH_OUT.
local json = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/summary.lua")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  local headers = {}
  local cookie = os.getenv("BENCH_COOKIE")
  if cookie and cookie ~= "" then headers["Cookie"] = cookie end
  req = wrk.format("GET", os.getenv("BENCH_PATH"), headers)
end

function request()
  return req
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  json.write(summary, latency, threads)
end
