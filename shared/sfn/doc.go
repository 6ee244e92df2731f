// Package sfn is the Step Functions driver: the state machine definition
// (definition.go), the handlers of its two Lambda functions — Advance, the
// engine's step, and Dispatch, which starts one action run with its task
// token (handlers.go) — and the Driver the service is handed when Stageflow
// is deployed (driver.go). Nothing here but the definition knows the state
// machine's shape, and the engine knows nothing of AWS.
package sfn
