package store

import (
	"encoding/json"

	"github.com/stageflow/stageflow/shared/errs"
)

// CheckWebhook checks a webhook PutWebhook is to store: a name, a URL ID and
// a definition that is a JSON object.
func CheckWebhook(w *Webhook) error {
	if w.Name == "" {
		return errs.Of(errs.Validation, errs.KindWebhook, "a webhook needs a name")
	}
	if w.URLID == "" {
		return errs.Of(errs.Validation, errs.KindWebhook, "webhook %s needs a URL ID", w.Name)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(w.Definition, &obj); err != nil || obj == nil {
		return errs.Of(errs.Validation, errs.KindWebhook, "webhook %s needs a definition (a JSON object)", w.Name)
	}
	return nil
}
