-- wrk script for one GraphQL scenario of api/bench/run, chosen by SCENARIO (q1..q7). Every
-- response is checked: a status other than 200 or a body carrying GraphQL "errors" counts as
-- bad, and run refuses a measurement with any bad response. done() prints one line:
--   RESULT <requests/s> <p50 ms> <p90 ms> <p99 ms> <requests> <bad> <socket errors>
local scenario = os.getenv("SCENARIO")
local aws_accounts = tonumber(os.getenv("AWS_ACCOUNTS") or "1")
local deep_cursor = os.getenv("DEEP_CURSOR") or ""

wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")

local fixed = {
  q1 = '{ accounts(first: 100, filter: {provider: [AWS]}) { nodes { id name status } } }',
  q3 = '{ accounts(first: 100, filter: {provider: [GCP]}) { nodes { id key nativeId provider name '
    .. 'orgPath ancestors { id name kind type } parent status rawStatus regionResidency '
    .. 'tags { key value } scope source firstSeenAt lastSeenAt removedAt provenance raw } } }',
  q4 = '{ accounts(first: 100, filter: {provider: [AWS]}) { nodes { id name status '
    .. 'lastRun { id collector status startedAt } } } }',
  q5 = '{ accounts(first: 100, after: \\"' .. deep_cursor .. '\\", filter: {provider: [AWS]}) '
    .. '{ nodes { id name status } } }',
  q6 = '{ accounts(first: 100, filter: {nameContains: \\"prod\\", '
    .. 'tag: [{key: \\"owner\\", value: \\"team-payments\\"}]}) { nodes { id name status } } }',
  -- The Backstage operation assets-by-annotation (backstage/operations) for an AWS
  -- organization: its first 50 accounts.
  q8 = '{ lookup(annotation: {key: \\"amazonaws.com/organization-id\\", value: \\"o-bench0001\\"}, '
    .. 'first: 50) { pageInfo { hasNextPage endCursor } nodes { __typename ... on CloudAccount { '
    .. 'key provider nativeId name accountStatus: status orgPath ancestors { id name type } tags { key value } '
    .. 'removedAt lastSeenAt } ... on MonitoringEndpoint { key kind url endpointStatus: status version removedAt '
    .. 'lastCheckedAt } } } }',
}

local q2 = 'query($n: String!) { account(provider: AWS, nativeId: $n) '
  .. '{ id key name status orgPath lastSeenAt tags { key value } } }'
local q7 = 'mutation($input: UpsertMonitoringEndpointInput!) { upsertMonitoringEndpoint(input: $input) '
  .. '{ outcome endpoint { key } } }'

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(id * 7919 + os.time())
  bad = 0
  if fixed[scenario] then
    wrk.body = '{"query":"' .. fixed[scenario] .. '"}'
  end
end

function request()
  if scenario == "q2" then
    local n = string.format("%012d", 100000000000 + math.random(0, aws_accounts - 1))
    return wrk.format(nil, nil, nil,
      '{"query":"' .. q2 .. '","variables":{"n":"' .. n .. '"}}')
  elseif scenario == "q7" then
    local k = math.random(0, 999)
    local input = string.format(
      '{"id":"bench-%d","kind":"PROMETHEUS","url":"http://bench-%d.example.com:%d","authMode":"NONE"}',
      k, k, math.random(1024, 65535))
    return wrk.format(nil, nil, nil,
      '{"query":"' .. q7 .. '","variables":{"input":' .. input .. '}}')
  end
  return wrk.format()
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors":', 1, true) then
    bad = bad + 1
    if bad == 1 then io.stderr:write("bad response (" .. status .. "): " .. body:sub(1, 300) .. "\n") end
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("RESULT %.1f %.2f %.2f %.2f %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, summary.requests, bad_total, errors))
end
