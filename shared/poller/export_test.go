package poller

// Remember sets the revision the poller last saw of a pipeline's action.
func (p *Poller) Remember(pipeline, action, rev string) { p.remember(pipeline+"\x00"+action, rev) }
