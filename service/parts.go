package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/voxdesk/voxdesk/agentapi"
	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/routing"
	"github.com/voxdesk/voxdesk/rtc"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// buildParts opens the customer store and builds the router, the WebRTC
// engine and the agent API, plugged into each other:
//
//	agent API --Router, Snapshotter, CallbackBooker--> routing
//	routing --Phones--> agent API (agents' legs)
//	routing --Announcer--> prompts, --Dialer--> SIP, --Directory--> customers
//	agent API --call handler--> the switch's handler (web "call now")
//
// The router is built first and handed to the agent API whole; the API,
// once built, becomes the router's Phones (before Run).
func (s *Service) buildParts(c *Config) error {
	accounts, err := newSIPAccounts(c.SIP.Agents)
	if err != nil {
		return err
	}
	s.sipAccounts = accounts
	if c.Customer.DSN != "" {
		db, err := openCustomers(c.Customer, s)
		if err != nil {
			return err
		}
		s.db = db
	}
	if err := s.openVoice(c); err != nil {
		return err
	}
	engine, err := rtc.New(c.RTC, rtc.WithLogger(s.log))
	if err != nil {
		return fmt.Errorf("service: rtc: %w", err)
	}
	s.rtc = engine
	opts := []agentapi.Option{
		agentapi.WithLogger(s.log),
		agentapi.WithRTC(engine),
		// Web calls go to the same handler as SIP calls; it is built after.
		agentapi.WithCallHandler(call.HandlerFunc(func(ctx context.Context, cl *call.Call) error {
			return s.handler.ServeCall(ctx, cl)
		})),
	}
	if s.db != nil {
		opts = append(opts, agentapi.WithDirectory(agentapi.StoreDirectory{Store: s.db}))
	}
	if s.voice != nil {
		opts = append(opts, agentapi.WithBiometrics(agentBiometrics{s.voice}))
	}
	if len(c.Routing.Queues) > 0 {
		ropts := []routing.Option{
			routing.WithAnnouncer(announcer{s.prompts}),
			routing.WithDialer(dialerFunc(s.dial)),
			routing.WithRegisterer(s.metrics.reg),
			routing.WithLogger(s.log),
		}
		if s.db != nil {
			ropts = append(ropts, routing.WithDirectory(directory{s.db}))
		}
		r, err := routing.New(c.Routing, ropts...)
		if err != nil {
			return fmt.Errorf("service: routing: %w", err)
		}
		s.router = r
		cb := agentapi.RouterCallbacks(r)
		if s.db != nil {
			cb = callbackLookup{Callbacks: cb, db: s.db, log: s.log}
		}
		opts = append(opts, agentapi.WithRouter(r), agentapi.WithBoard(agentapi.RouterBoard(r)),
			agentapi.WithCallbacks(cb), monitorOption(r))
	}
	if s.db != nil && len(c.SIP.Trunks) > 0 {
		// Agents call customers from their file through the first trunk,
		// as call-backs do, showing the call-back number.
		opts = append(opts, agentapi.WithDialer(dialerFunc(s.dial), c.Routing.CallbackFrom))
	}
	if c.IVR.Voicemail != "" {
		vm := agentapi.VoicemailFolder{Dir: c.IVR.Voicemail}
		if s.db != nil {
			vm.Audit = s.db // each play in the store's audit log
		}
		opts = append(opts, agentapi.WithVoicemail(vm))
	}
	if len(accounts) > 0 {
		opts = append(opts, agentapi.WithRingModes(accounts.modes())) // agents choose in the page
	}
	opts = append(opts, s.buildRecorder(c)...)
	s.keypad = &keypad{}
	opts = append(opts, agentapi.WithKeypad(s.keypad), agentapi.WithRegisterer(s.metrics.reg))
	api, err := agentapi.New(c.Agents, opts...)
	if err != nil {
		return fmt.Errorf("service: agents: %w", err)
	}
	s.api = api
	if s.router != nil {
		var phones routing.Phones = api
		if len(accounts) > 0 {
			fileURL := s.customerFileURL(c.SIP.CustomerURL)
			alert, err := alertInfo(c.SIP.AlertInfo, fileURL)
			if err != nil {
				return err
			}
			s.phones = &sipPhones{web: api, svc: s, accounts: accounts, rings: map[string]*phoneRing{}, legs: map[string]phoneLeg{},
				fileURL: fileURL, alert: alert}
			phones = s.phones
		}
		if err := s.router.SetPhones(phones); err != nil {
			return fmt.Errorf("service: routing: %w", err)
		}
		// Missed offers reach the agent's page as notices; the
		// subscription lives as long as the router.
		s.router.OnEvent(api.RoutingEvent)
		s.router.OnEvent(api.ConsultEvent) // warm transfer: both pages follow the consultation
	}
	return nil
}

// openCustomers opens the store and loads the import CSV into an empty one.
func openCustomers(c CustomerConfig, s *Service) (*customer.DB, error) {
	key, err := customer.KeyFromEnv()
	if err != nil {
		return nil, fmt.Errorf("service: customer key: %w", err)
	}
	if c.Key != "" {
		if key, err = customer.ParseKey(c.Key); err != nil {
			return nil, fmt.Errorf("service: customer.key: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.voiceKey = key != nil
	db, err := customer.Open(ctx, c.DSN, customer.Config{Key: key}, customer.WithLogger(s.log))
	if err != nil {
		return nil, fmt.Errorf("service: customer.dsn: %w", err)
	}
	if c.Import == "" {
		return db, nil
	}
	errFound := errors.New("found")
	err = db.EachCustomer(ctx, func(customer.Customer) error { return errFound })
	if errors.Is(err, errFound) {
		return db, nil // not empty: the import is for a new store only
	}
	if err == nil {
		err = importCSV(ctx, db, c.Import)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("service: customer.import %s: %w", c.Import, err)
	}
	s.log.Info("customers imported", "file", c.Import)
	return db, nil
}

func importCSV(ctx context.Context, db *customer.DB, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return db.Import(ctx, f, nil)
}

// closeParts stops the agent API (before the HTTP server: its hijacked
// WebSockets are not closed by net/http) and the router. graceful tells
// the pages and waits for them, within ctx.
func (s *Service) closeParts(ctx context.Context, graceful bool) {
	s.mu.Lock()
	done := s.partsClosed
	s.partsClosed = true
	s.mu.Unlock()
	if done {
		return
	}
	if s.api != nil {
		if graceful {
			if err := s.api.Shutdown(ctx); err != nil {
				s.api.Close()
			}
		} else {
			s.api.Close()
		}
	}
	if s.router != nil {
		s.router.Close()
	}
	if s.phones != nil {
		s.phones.close()
	}
}

// openVoice loads the speaker model and the stored voiceprints. Without a
// customer store or with model_dir "off" there is no voice side; an
// unset model_dir that finds no installed model only logs (voxdesk model
// fetch installs it), a named one must load.
func (s *Service) openVoice(c *Config) error {
	vc := c.Voiceprint
	if s.db == nil || !vc.Enabled() {
		return nil
	}
	if !s.voiceKey {
		s.log.Warn("voice identification off: no voiceprint key (customer.key or VOXDESK_VOICEPRINT_KEY)")
		return nil
	}
	if vc.ModelDir == "" {
		dir, err := voiceprint.FindModelDir()
		if err != nil {
			s.log.Warn("voice identification off: no speaker model installed (voxdesk model fetch)", "err", err)
			return nil
		}
		vc.ModelDir = dir
	}
	vc.Calibration = CalibrationPath(vc.Calibration, c.Customer.DSN)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	v, err := newVoice(ctx, vc, s.db, s.log)
	if err != nil {
		return fmt.Errorf("service: voiceprint: %w", err)
	}
	for _, c := range v.Collectors() {
		if err := s.metrics.reg.Register(c); err != nil {
			return fmt.Errorf("service: voice metrics: %w", err)
		}
	}
	s.voice = v
	return nil
}

// The router is the agent API's routing side, and the API its phones.
var (
	_ agentapi.Router         = (*routing.Router)(nil)
	_ agentapi.Consulter      = (*routing.Router)(nil)
	_ agentapi.Snapshotter    = (*routing.Router)(nil)
	_ agentapi.CallbackBooker = (*routing.Router)(nil)
	_ routing.Phones          = (*agentapi.Server)(nil)
)
