-- wrk script: cycles through good and bad requests; stops a thread after args[1] answers (0: no limit);
-- prints "STATUS {json}" with the count of answers per status code.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  limit = tonumber(args[1]) or 0
  answered = 0
  statuses = {}
  local sample = "TID008,VAWT,64,80,46.0,21,55,55,7,34,NE"
  local csv = { ["Content-Type"] = "text/csv" }
  local json = { ["Content-Type"] = "application/json" }
  requests = {
    wrk.format("POST", "/", csv, sample),
    wrk.format("POST", "/v1/predictions", json, '{"instances": [["TID002","HAWT",20,25,38,40,20,50,2,40,"SW"]]}'),
    wrk.format("POST", "/", csv, "TID011,VAWT,nan,80,46.0,21,55,55,7,34,NE"),
    wrk.format("POST", "/", json, '{"turbine_id": true, "extra": [1e999]}'),
    wrk.format("POST", "/", { ["Content-Type"] = "application/xml" }, "<x/>"),
    wrk.format("POST", "/", csv, "\255\254\253"),
    wrk.format("POST", "/v1/predictions?explain=maybe", csv, sample),
    wrk.format("PUT", "/", csv, sample),
    wrk.format("GET", "/nowhere"),
    wrk.format("GET", "/ping"),
  }
  next_request = 0
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  answered = answered + 1
  if limit > 0 and answered >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  io.write("STATUS {" .. table.concat(parts, ", ") .. "}\n")
end
