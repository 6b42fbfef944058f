-- POST a form body in which every "{n}" becomes a number unique to this run, so each request stores a
-- new row (a new email). Read from the environment (bench/run.py sets them):
--   BENCH_PATH    the path to POST to
--   BENCH_BODY    the url-encoded form body, with {n} placeholders
--   BENCH_COOKIE  a Cookie header to send (the CSRF cookie), optional
--   BENCH_MAX     stop after this many responses in all (0: run for wrk's -d), optional; with one
--                 thread only (the count is per thread)
--   BENCH_OUT     where done() writes its JSON summary
local json = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/summary.lua")

local threads = {}
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

function init(args)
  path = os.getenv("BENCH_PATH")
  body = os.getenv("BENCH_BODY")
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  local cookie = os.getenv("BENCH_COOKIE")
  if cookie and cookie ~= "" then headers["Cookie"] = cookie end
  run = os.getenv("BENCH_RUN_ID") or "r"
  local max = tonumber(os.getenv("BENCH_MAX") or "0")
  limit = math.max(max, 0)
  sent = 0
  received = 0
  statuses = {}
end

function request()
  sent = sent + 1
  local n = run .. "t" .. tid .. "n" .. sent
  return wrk.format("POST", path, headers, (body:gsub("{n}", n)))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  received = received + 1
  if received == limit then json.finished() end
end

function done(summary, latency, requests)
  json.write(summary, latency, threads)
end
