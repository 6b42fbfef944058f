-- POST once to every path listed in $BENCH_PATHS_FILE (one a line), with the form body $BENCH_BODY and
-- the Cookie $BENCH_COOKIE, then stop. Used to click the confirmation links read from the mails.
local json = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/summary.lua")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(os.getenv("BENCH_PATHS_FILE")) do
    if line ~= "" then table.insert(paths, line) end
  end
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  local cookie = os.getenv("BENCH_COOKIE")
  if cookie and cookie ~= "" then headers["Cookie"] = cookie end
  body = os.getenv("BENCH_BODY") or ""
  sent = 0
  received = 0
  statuses = {}
  if #paths == 0 then json.finished() end
end

function request()
  -- wrk calls request() once before sending anything, to check what the script makes (thread 1 only,
  -- and bench/run.py uses one thread): that call must not use up the first path.
  if not checked then
    checked = true
    return wrk.format("POST", paths[1] or "/", headers, body)
  end
  sent = sent + 1
  -- Past the end (requests already in flight when the last answer comes), repeat the last path: a
  -- confirmation is idempotent, and the run stops at the last answer.
  local path = paths[math.min(sent, #paths)] or "/"
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  received = received + 1
  if received == #paths then json.finished() end
end

function done(summary, latency, requests)
  json.write(summary, latency, threads)
end
