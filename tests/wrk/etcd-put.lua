-- wrk -s etcd-put.lua URL -- NKEYS VALUE_BYTES
-- etcd's v3 JSON gateway: POST /v3/kv/put {"key": base64, "value": base64},
-- the same keys and values as raftconfd-put.lua.
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
	local value = common.base64(string.rep("v", tonumber(args[2]) or 128))
	local headers = { ["Content-Type"] = "application/json" }
	for i = 0, nkeys - 1 do
		local body = string.format('{"key":"%s","value":"%s"}',
			common.base64(common.key(i)), value)
		reqs[i + 1] = wrk.format("POST", "/v3/kv/put", headers, body)
	end
	n = common.start(nkeys)
end
