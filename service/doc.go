// Package service is voxdesk's composition root: it decodes the one YAML
// configuration file (Config, one section per package, unknown keys are
// errors naming line and column), builds every component, plugs them
// together and owns the process's servers.
//
//	cfg, err := service.LoadConfig("examples/voxdesk.yaml")
//	svc, err := service.New(cfg)            // binds SIP UDP/TCP and HTTP
//	go svc.Run(ctx)                         // serves until Shutdown/Close
//	svc.Shutdown(ctx)                       // drain: new INVITEs get 503
//	svc.Close()                             // stop now
//
// The HTTP server answers /healthz and /metrics (Prometheus). Calls are
// served by the demo handler (Demo) until an IVR flow is configured;
// WithHandler and WithMiddleware plug another call.Handler, which is how
// tests and bench start a whole switch in-process on port 0.
package service
