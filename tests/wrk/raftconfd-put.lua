-- wrk -s raftconfd-put.lua URL -- NKEYS VALUE_BYTES
-- PUT /v1/keys/bench/kNNNNN with a VALUE_BYTES-long body, cycling over NKEYS keys.
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
	local value = string.rep("v", tonumber(args[2]) or 128)
	for i = 0, nkeys - 1 do
		reqs[i + 1] = wrk.format("PUT", "/v1/keys/" .. common.key(i), nil, value)
	end
	n = common.start(nkeys)
end
