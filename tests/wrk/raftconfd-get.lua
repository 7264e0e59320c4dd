-- wrk -s raftconfd-get.lua URL -- NKEYS [stale]
-- GET /v1/keys/bench/kNNNNN (linearizable), or with "stale" GET ...?stale
-- (the node's local copy), cycling over NKEYS keys.
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")
setup = common.setup
done = common.done

-- Requests are made once, in init(); request() only picks the next.
local reqs, n = {}, 0
function request()
	n = n % #reqs + 1
	return reqs[n]
end

function init(args)
	local nkeys = tonumber(args[1]) or 1000
	local query = args[2] == "stale" and "?stale" or ""
	for i = 0, nkeys - 1 do
		reqs[i + 1] = wrk.format("GET", "/v1/keys/" .. common.key(i) .. query)
	end
	n = common.start(nkeys)
end
