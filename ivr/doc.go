// Package ivr runs the YAML flows admins write to greet callers, find out
// who they are and route them: a flow is parsed and checked once by Parse
// or Load into an immutable *Flow, and a Runner (a call.Handler) walks it
// for each call.
package ivr
