-- wrk script. args[1]: "classic" (the classic CSV line to /), "mlflow" (the same line under a header, to
-- /invocations), "invocations" (the line to /invocations), "oip" (the reading as an Open Inference Protocol
-- request for the bundled model) or "mixed" (good and bad requests in turn); args[2]: answers after which a thread stops
-- (0: none). Prints "STATUS {json}" with the count of answers per status code.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  limit = tonumber(args[2]) or 0
  answered = 0
  statuses = {}
  local sample = "TID008,VAWT,64,80,46.0,21,55,55,7,34,NE"
  local header = "turbine_id,turbine_type,wind_speed,rpm_blade,oil_temperature,oil_level,temperature,humidity,"
    .. "vibrations_frequency,pressure,wind_direction"
  local csv = { ["Content-Type"] = "text/csv" }
  local json = { ["Content-Type"] = "application/json" }
  local mode = args[1] or "classic"
  if mode == "classic" then
    requests = { wrk.format("POST", "/", csv, sample) }
  elseif mode == "mlflow" then
    requests = { wrk.format("POST", "/invocations", csv, header .. "\n" .. sample) }
  elseif mode == "invocations" then
    requests = { wrk.format("POST", "/invocations", csv, sample) }
  elseif mode == "oip" then
    local names, values, inputs = {}, {}, {}
    for name in header:gmatch("[^,]+") do table.insert(names, name) end
    for value in sample:gmatch("[^,]+") do table.insert(values, value) end
    for i, name in ipairs(names) do
      local number = tonumber(values[i])
      local tensor = number and string.format('"datatype":"FP64","data":[%s]', values[i])
        or string.format('"datatype":"BYTES","data":["%s"]', values[i])
      table.insert(inputs, string.format('{"name":"%s","shape":[1],%s}', name, tensor))
    end
    local body = '{"inputs":[' .. table.concat(inputs, ",") .. ']}'
    requests = { wrk.format("POST", "/v2/models/turbine-breakdown-logistic/infer", json, body) }
  else
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
  end
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
