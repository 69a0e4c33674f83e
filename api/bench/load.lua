-- wrk script for one GraphQL scenario of api/bench/run, chosen by SCENARIO (q1..q8 on the
-- API with its response cache off; h1, h2, r1, m1 and mix on the one with it on). Every
-- response is checked: a status other than 200 (304 for r1) or a body carrying GraphQL
-- "errors" counts as bad, and run refuses a measurement with any bad response. done()
-- prints one line:
--   RESULT <requests/s> <p50 ms> <p90 ms> <p99 ms> <requests> <bad> <socket errors>
local scenario = os.getenv("SCENARIO")
local aws_accounts = tonumber(os.getenv("AWS_ACCOUNTS") or "1")
local deep_cursor = os.getenv("DEEP_CURSOR") or ""
local etag = os.getenv("ETAG") or ""

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

-- The cache scenarios: h1 repeats q1's body (a hit each time), h2 repeats one q2 body, r1
-- revalidates q1 with the ETag run fetched (304 each time), m1 sends q1 with a variable no
-- other request has (a miss each time: the cache's cost over the uncached q1), mix sends h1
-- nine times in ten and m1 otherwise.
local same = { h1 = "q1", r1 = "q1" }
local sent = 0

local function miss_body()
  sent = sent + 1
  return '{"query":"' .. fixed.q1 .. '","variables":{"nonce":"' .. id .. '-' .. sent .. '"}}'
end

function init(args)
  math.randomseed(id * 7919 + os.time())
  bad = 0
  local body_of = same[scenario] or scenario
  if fixed[body_of] then
    wrk.body = '{"query":"' .. fixed[body_of] .. '"}'
  end
  if scenario == "h2" then
    wrk.body = '{"query":"' .. q2 .. '","variables":{"n":"100000000000"}}'
  end
  if scenario == "r1" then
    wrk.headers["If-None-Match"] = etag
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
  elseif scenario == "m1" or (scenario == "mix" and math.random(1, 10) == 1) then
    return wrk.format(nil, nil, nil, miss_body())
  elseif scenario == "mix" then
    return wrk.format(nil, nil, nil, '{"query":"' .. fixed.q1 .. '"}')
  end
  return wrk.format()
end

function response(status, headers, body)
  local expected = scenario == "r1" and 304 or 200
  if status ~= expected or string.find(body, '"errors":', 1, true) then
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
