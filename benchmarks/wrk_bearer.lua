-- wrk script: send "Authorization: Bearer $CONSENTRY_BENCH_BEARER" when that
-- variable is set, then report like wrk_report.lua, which it loads from the
-- path in $CONSENTRY_BENCH_REPORT_LUA.

local token = os.getenv("CONSENTRY_BENCH_BEARER")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

dofile(os.getenv("CONSENTRY_BENCH_REPORT_LUA"))
