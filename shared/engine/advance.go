package engine

// Advance computes the next state of e and the driver's next move.
func Advance(e *Execution, env Env) Decision {
	return Decision{Status: e.Status, Terminal: e.Status.Terminal()}
}
