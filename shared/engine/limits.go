package engine

import "unicode/utf8"

// MaxOutputVariablesSize is the limit on the combined size of one action's
// output variables. The API definition names the exception
// (OutputVariablesSizeExceededException: "Exceeded the total size limit for
// all variables in the pipeline") but states no number; this is
// CodePipeline's documented quota of 122,880 characters for all output
// variables of an action combined.
const MaxOutputVariablesSize = 122880

// OutputVariablesSize is the combined size of output variables as the quota
// counts them: the characters of every name and value.
func OutputVariablesSize(vars map[string]string) int {
	n := 0
	for k, v := range vars {
		n += utf8.RuneCountInString(k) + utf8.RuneCountInString(v)
	}
	return n
}
