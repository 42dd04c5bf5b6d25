package config

// Radar holds the expiry radar's settings: when to warn that an account
// will need an interactive sign-in.
type Radar struct {
	// NotifyDays is how many days before an account's sign-in date the
	// keeper shows a notification; 0 turns the notification off.
	NotifyDays int `json:"notify_days"`
}

func init() {
	keys = append(keys, key{name: "radar.notify_days", kind: kindInt, def: "3", min: 0, max: 30,
		doc: "days before an account needs an interactive sign-in to notify (0: never)",
		set: func(s *Settings, v any) { s.Radar.NotifyDays = int(v.(int64)) }, get: func(s Settings) any { return s.Radar.NotifyDays }})
}
