package wire

import "strings"

// MicrosoftCloud is one deployment of the Microsoft identity platform that
// a Microsoft account can sign in to (the account setting "cloud").
type MicrosoftCloud struct {
	Name      string // the setting's value: public, usgov or china
	Title     string // for people: "US Government"
	LoginHost string // the identity platform's host
}

// MicrosoftClouds are the clouds an account may name, the default
// (public) first. Login hosts from Microsoft's "national cloud
// deployments" page.
var MicrosoftClouds = []MicrosoftCloud{
	{Name: "public", Title: "global", LoginHost: "login.microsoftonline.com"},
	{Name: "usgov", Title: "US Government", LoginHost: "login.microsoftonline.us"},
	{Name: "china", Title: "China (21Vianet)", LoginHost: "login.chinacloudapi.cn"},
}

// DefaultMicrosoftCloud is the cloud of an account that names none.
const DefaultMicrosoftCloud = "public"

// MicrosoftCloudNamed returns the cloud called name ("" is the default);
// ok is false for a name that is not one of MicrosoftClouds.
func MicrosoftCloudNamed(name string) (c MicrosoftCloud, ok bool) {
	if name == "" {
		name = DefaultMicrosoftCloud
	}
	for _, c := range MicrosoftClouds {
		if c.Name == name {
			return c, true
		}
	}
	return MicrosoftCloud{}, false
}

// MicrosoftCloudNames lists the allowed values of the cloud setting, for
// messages: "public, usgov or china".
func MicrosoftCloudNames() string {
	names := make([]string, len(MicrosoftClouds))
	for i, c := range MicrosoftClouds {
		names[i] = c.Name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
