-- wrk -s big.lua URL -- SYSTEM OP FIRST COUNT VALUE_BYTES THREADS
-- The large-store phase of tests/bench-etcd.sh: keys bench/gNNNNNNN, made
-- one request at a time (a million prepared requests would not fit).
--   SYSTEM  rc (raftconfd's /v1/keys) or etcd (its v3 JSON gateway)
--   OP      put: keys FIRST .. FIRST+COUNT-1 once each, spread over the
--           THREADS threads; a thread stops once every one of its writes
--           is answered, and makes a file named after it in $BIG_DONE_DIR
--           get, stale: random keys of FIRST .. FIRST+COUNT-1, linearizable
--           or local (etcd: serializable)
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")
setup = common.setup
done = common.done

local sys, op, first, last, value, step, nextk, marker
-- wrk calls request() once on the first thread to check what it returns,
-- and sends nothing: that call must not use up a key.
local checked
local headers = { ["Content-Type"] = "application/json" }

local function key(n)
	return string.format("bench/g%07d", n)
end

function init(args)
	sys, op = args[1], args[2]
	first = tonumber(args[3]) or 0
	last = first + (tonumber(args[4]) or 1000)
	value = string.rep("v", tonumber(args[5]) or 128)
	if sys == "etcd" then value = common.base64(value) end
	step = tonumber(args[6]) or 1
	nextk = first + (tid or 0)
	checked = (tid or 0) ~= 0
	math.randomseed(7919 * ((tid or 0) + 1))
	-- in a value read back, never in the answer to a write
	marker = string.rep("v", 12)
	if sys == "etcd" then marker = common.base64(marker) end
end

-- A read of the thread's own first key (long written): what a thread asks
-- once its share is out, so that it can tell the answers to its writes
-- (no value in them) from the others and stop only when all are in.
local function read(n, stale)
	if sys == "etcd" then
		return wrk.format("POST", "/v3/kv/range", headers,
			string.format('{"key":"%s"%s}', common.base64(key(n)),
				stale and ',"serializable":true' or ""))
	end
	return wrk.format("GET", "/v1/keys/" .. key(n) .. (stale and "?stale" or ""))
end

local puts, answered = 0, 0

function request()
	if op ~= "put" then
		return read(math.random(first, last - 1), op == "stale")
	end
	if nextk >= last then
		return read(first + (tid or 0), true)
	end
	local n = nextk
	if checked then
		nextk = nextk + step
		puts = puts + 1
	end
	checked = true
	if sys == "etcd" then
		return wrk.format("POST", "/v3/kv/put", headers,
			string.format('{"key":"%s","value":"%s"}', common.base64(key(n)), value))
	end
	return wrk.format("PUT", "/v1/keys/" .. key(n), nil, value)
end

-- A thread whose writes are all answered says so in the directory
-- BIG_DONE_DIR (wrk itself runs for its -d): bench-etcd.sh stops wrk with
-- SIGINT once every thread has.
local said, shown = false, 0
function response(status, headers, body)
	if status > 399 and shown < 3 then -- the first few, to say why
		shown = shown + 1
		io.stderr:write(string.format("# %s %s: %d %s\n", sys, op, status, body or ""))
	end
	if op ~= "put" then
		return
	end
	if not (body and body:find(marker, 1, true)) then
		answered = answered + 1
	end
	if nextk >= last and answered >= puts and not said then
		said = true
		local dir = os.getenv("BIG_DONE_DIR")
		if dir then
			local f = io.open(dir .. "/" .. (tid or 0), "w")
			if f then f:close() end
		end
		wrk.thread:stop()
	end
end
