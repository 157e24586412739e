-- wrk script: POST the payload file given in the environment with the bearer token.
local f = assert(io.open(os.getenv("BENCH_PAYLOAD"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
