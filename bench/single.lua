-- wrk script: POST the classic CSV line to /; prints "STATUS {json}" with the count of answers per status.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  body = "TID008,VAWT,64,80,46.0,21,55,55,7,34,NE"
  request_text = wrk.format("POST", "/", { ["Content-Type"] = "text/csv" }, body)
end

function request()
  return request_text
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
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
