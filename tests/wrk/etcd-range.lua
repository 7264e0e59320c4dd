-- wrk -s etcd-range.lua URL -- NKEYS [serializable]
-- etcd's v3 JSON gateway: POST /v3/kv/range {"key": base64} (linearizable),
-- or with "serializable" {"key": ..., "serializable": true} (the member's
-- local copy, etcd's counterpart of raftconfd's ?stale).
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
	local extra = args[2] == "serializable" and ',"serializable":true' or ""
	local headers = { ["Content-Type"] = "application/json" }
	for i = 0, nkeys - 1 do
		local body = string.format('{"key":"%s"%s}', common.base64(common.key(i)), extra)
		reqs[i + 1] = wrk.format("POST", "/v3/kv/range", headers, body)
	end
	n = common.start(nkeys)
end
