-- wrk script: POSTs JSON bodies read from $LOOPAI_BODIES (one per line), in turn.
local bodies = {}
local path = os.getenv("LOOPAI_BODIES")
for line in io.lines(path) do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, os.getenv("LOOPAI_PATH"), nil, bodies[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d seconds=%.3f rps=%.0f p50_us=%.0f p99_us=%.0f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99)))
end
