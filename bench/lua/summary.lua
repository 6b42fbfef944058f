-- Shared by the wrk scripts: done() writes one JSON object with throughput, latency percentiles and the
-- HTTP statuses counted by every thread, to $BENCH_OUT.
local M = {}

function M.write(summary, latency, threads)
  local statuses = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses") or {}
    for code, count in pairs(s) do
      statuses[tostring(code)] = (statuses[tostring(code)] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(statuses) do table.insert(parts, string.format('"%s": %d', code, count)) end
  local e = summary.errors
  local out = string.format(
    '{"requests": %d, "duration_us": %d, "rps": %.2f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.3f, "mean_ms": %.3f, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ", "))
  local path = os.getenv("BENCH_OUT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(out)
    f:close()
  end
  io.write(out)
end

-- Tell bench/run.py that this thread has all the answers it wanted: wrk itself only ends after its -d
-- duration, so bench/run.py waits for this file and then interrupts wrk (which still prints its summary).
function M.finished()
  local path = os.getenv("BENCH_OUT")
  if path and path ~= "" then
    local f = io.open(path .. ".finished", "w")
    if f then f:close() end
  end
  wrk.thread:stop()
end

return M
