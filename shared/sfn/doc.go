// Package sfn is the Step Functions driver: the state machine definition
// (definition.go), the handlers of its two Lambda functions — Advance, the
// engine's step, and Dispatch, which starts one action run with its task
// token (handlers.go) — and the Driver the service is handed when Stageflow
// is deployed (driver.go). Nothing here but the definition knows the state
// machine's shape, and the engine knows nothing of AWS.
//
// Wiring, deployed: the api function hands the service a Driver made with
// the state machine's ARN; the advance function serves HandleAdvance and the
// dispatch function Dispatch, from Drivers made without it (the state
// machine names them, so they cannot name it back), with Providers() as
// their registry. All of them share the store and a Step Functions client.
package sfn
