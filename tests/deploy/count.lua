-- wrk script for tests/deploy/lb.sh: counts every response that is not a 200 with the hello
-- example's body, per thread, and prints one machine-readable line when the load ends.
--
-- wrk's own summary counts socket errors (connect, read, write, timeout) and, as "status"
-- errors, only statuses >= 400; a 3xx or a truncated body would pass unnoticed, so the
-- responses are checked here.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   non2xx = 0
   badbody = 0
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   elseif body ~= "Hello World!" then
      badbody = badbody + 1
   end
end

function done(summary, latency, requests)
   local non2xx, badbody = 0, 0
   for _, thread in ipairs(threads) do
      non2xx = non2xx + thread:get("non2xx")
      badbody = badbody + thread:get("badbody")
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d connect=%d read=%d write=%d timeout=%d non2xx=%d badbody=%d\n",
      summary.requests, e.connect, e.read, e.write, e.timeout, non2xx, badbody))
end
