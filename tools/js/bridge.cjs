// The node side of the Step Functions test bridge (shared/sfn/sfntest): runs
// one state machine execution with aws-local-stepfunctions and hands every
// Task state to the Go side of the bridge, which invokes the function, hands
// out task tokens and answers the Step Functions API.
//
//   node --require ./polyfill.cjs bridge.cjs DEFINITION_FILE
//   env: BRIDGE_URL (the Go side), BRIDGE_EXECUTION_ARN, BRIDGE_INPUT (JSON)
//
// What the interpreter lacks, and this file papers over (never the ASL):
// - no $$.Task.Token: the context object carries a placeholder, which the Go
//   side replaces with a fresh token for each task;
// - no optimized lambda:invoke integration: every Task state is a local
//   handler, so the Go side receives the Parameters ({FunctionName, Payload});
// - TimeoutSecondsPath is read from the Parameters' result rather than the
//   state input: it is moved into the Parameters under a key of the bridge's
//   own, removed again before the Go side sees the input;
// - Tasks without a timeout time out after 60 s: they get the longest one a
//   Node.js timer can hold instead (Step Functions waits up to a year).
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const { StateMachine } = require('aws-local-stepfunctions');

const TOKEN_PLACEHOLDER = 'BRIDGE-TASK-TOKEN';
const TIMEOUT_KEY = 'bridgeTimeoutSeconds';
const LONGEST_TIMEOUT_SECONDS = 2000000; // under 2^31 ms, a Node.js timer's limit

const url = process.env.BRIDGE_URL;
const executionArn = process.env.BRIDGE_EXECUTION_ARN;
const input = JSON.parse(process.env.BRIDGE_INPUT || '{}');
const definition = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

// post sends a JSON request to the Go side and returns its JSON answer. It
// uses node:http rather than fetch, whose client gives up on a response
// after five minutes: a task waits for its token as long as it takes.
function post(path, body) {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          reject(new Error(`bridge ${path}: HTTP ${res.statusCode}: ${text}`));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(e);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

// patch rewrites the Task states of a machine (and its Map processors) and
// returns a local handler for each.
function patch(machine, handlers) {
  for (const [name, state] of Object.entries(machine.States)) {
    if (state.Type === 'Map') {
      patch(state.ItemProcessor || state.Iterator, handlers);
    }
    if (state.Type !== 'Task') {
      continue;
    }
    if (state.TimeoutSecondsPath) {
      state.Parameters = { ...state.Parameters, [TIMEOUT_KEY + '.$']: state.TimeoutSecondsPath };
      state.TimeoutSecondsPath = '$.' + TIMEOUT_KEY;
    } else if (!state.TimeoutSeconds) {
      state.TimeoutSeconds = LONGEST_TIMEOUT_SECONDS;
    }
    const resource = state.Resource;
    handlers[name] = async (taskInput) => {
      const params = { ...taskInput };
      const timeoutSeconds = params[TIMEOUT_KEY] || state.TimeoutSeconds;
      delete params[TIMEOUT_KEY];
      const out = await post('/bridge/task', { executionArn, state: name, resource, timeoutSeconds, input: params });
      if (out.error !== undefined) {
        const err = new Error(out.cause || '');
        err.name = out.error;
        throw err;
      }
      return out.output;
    };
  }
}

async function main() {
  const handlers = {};
  patch(definition, handlers);
  const machine = new StateMachine(definition, { validationOptions: { checkPaths: true, checkArn: true } });
  const name = executionArn.split(':').pop();
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: handlers },
    context: {
      Execution: { Id: executionArn, Name: name, Input: input, StartTime: new Date().toISOString() },
      Task: { Token: TOKEN_PLACEHOLDER },
    },
  });
  // The states entered, in order (those of Map iterations included), for
  // the tests to read.
  const states = [];
  let events = 0;
  const logging = (async () => {
    for await (const ev of execution.eventLogs) {
      events++;
      if (ev.type === 'StateEntered') {
        states.push(ev.state.name);
      }
    }
  })();
  let done;
  try {
    const output = await execution.result;
    done = { executionArn, status: 'SUCCEEDED', output: JSON.stringify(output) };
  } catch (e) {
    // The library wraps what failed the execution (a Fail state's error and
    // cause, an uncaught task error) in an ExecutionError.
    const inner = e.name === 'ExecutionError' && e.cause instanceof Error ? e.cause : e;
    done = { executionArn, status: 'FAILED', error: inner.name, cause: inner.message };
  }
  await logging;
  done.states = states;
  done.events = events;
  await post('/bridge/done', done);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
