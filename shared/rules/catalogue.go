package rules

import "github.com/stageflow/stageflow/shared/pipeline"

// Type is a rule type as ListRuleTypes shows it (the API's RuleType).
type Type struct {
	ID                          pipeline.RuleTypeID `json:"id"`
	RuleConfigurationProperties []Property          `json:"ruleConfigurationProperties"`
	InputArtifactDetails        ArtifactDetails     `json:"inputArtifactDetails"`
}

// Property is a rule type's configuration property (the API's
// RuleConfigurationProperty).
type Property struct {
	Name        string `json:"name"`
	Required    bool   `json:"required"`
	Key         bool   `json:"key"`
	Secret      bool   `json:"secret"`
	Queryable   bool   `json:"queryable,omitempty"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type,omitempty"`
}

// ArtifactDetails bounds the number of input artifacts of a rule.
type ArtifactDetails struct {
	MinimumCount int `json:"minimumCount"`
	MaximumCount int `json:"maximumCount"`
}

// Catalogue lists the rule types Stageflow knows (pipeline.RuleTypes), by
// provider. A required property is shown as a key property.
func Catalogue() []Type {
	out := make([]Type, 0, len(pipeline.RuleTypes))
	for _, def := range pipeline.RuleTypes {
		props := make([]Property, 0, len(def.Properties))
		for _, p := range def.Properties {
			typ := p.Type
			if typ == "" {
				typ = "String"
			}
			props = append(props, Property{Name: p.Name, Required: p.Required, Key: p.Required, Description: p.Description, Type: typ})
		}
		out = append(out, Type{
			ID:                          pipeline.RuleTypeID{Category: pipeline.RuleCategory, Owner: pipeline.OwnerAWS, Provider: def.Provider, Version: pipeline.RuleVersion},
			RuleConfigurationProperties: props,
			InputArtifactDetails:        ArtifactDetails{MinimumCount: 0, MaximumCount: def.MaxInputArtifacts},
		})
	}
	return out
}
