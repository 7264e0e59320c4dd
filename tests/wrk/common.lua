-- tests/wrk/common.lua: what the wrk scripts of tests/bench-etcd.sh share:
-- the key names, base64 for etcd's JSON gateway, a thread number so that
-- threads start apart in the key pool, and one machine-readable result line.
-- Loaded with dofile() by the scripts beside it; not a wrk script itself.
local M = {}

-- The key pool is the same for both systems: bench/k00000 ... bench/kNNNNN.
function M.key(i)
	return string.format("bench/k%05d", i)
end

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function M.base64(s)
	local out = {}
	for i = 1, #s, 3 do
		local a, b, c = s:byte(i, i + 2)
		local n = a * 65536 + (b or 0) * 256 + (c or 0)
		local q = {}
		for j = 3, 0, -1 do
			local k = math.floor(n / 64 ^ j) % 64
			q[#q + 1] = b64chars:sub(k + 1, k + 1)
		end
		if not b then q[3] = "=" end
		if not c then q[4] = "=" end
		out[#out + 1] = table.concat(q)
	end
	return table.concat(out)
end

-- Where a thread starts in the key pool: threads start apart.
function M.start(nkeys)
	return ((tid or 0) * 7919) % nkeys
end

local threads = 0
function M.setup(thread)
	thread:set("tid", threads)
	threads = threads + 1
end

-- One line that tests/bench-etcd.sh parses; latencies in microseconds.
-- "status" counts answers with a status above 399 (wrk's own count).
function M.done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("BENCH requests %d seconds %.3f rps %.1f p50_us %d p90_us %d " ..
		"p99_us %d max_us %d status_errors %d connect %d read %d write %d timeout %d\n",
		summary.requests, summary.duration / 1e6,
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
		e.status, e.connect, e.read, e.write, e.timeout))
end

return M
