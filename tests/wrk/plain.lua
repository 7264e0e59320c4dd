-- wrk -s plain.lua URL: wrk's own GET of URL, with the result line of
-- common.lua (tests/bench-etcd.sh times the loopback round trip with it).
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")
done = common.done
