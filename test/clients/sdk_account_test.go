package clients

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	metal "github.com/equinix/equinix-sdk-go/services/metalv1"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func wantUUID(t *testing.T, what, id string) {
	t.Helper()
	if !uuidRE.MatchString(id) {
		t.Fatalf("%s %q is not a UUID (the schema's format: uuid)", what, id)
	}
}

// checkSSHKey asserts the SSHKey schema's properties: uuid id, href, key/label as sent, fingerprint, entity
// href, created_at/updated_at date-times.
func checkSSHKey(t *testing.T, k *metal.SSHKey, key, label, fingerprint string) {
	t.Helper()
	wantUUID(t, "ssh key id", k.GetId())
	if k.GetKey() != key || k.GetLabel() != label || k.GetFingerprint() != fingerprint {
		t.Fatalf("got key %q label %q fingerprint %q, want %q %q %q", k.GetKey(), k.GetLabel(), k.GetFingerprint(),
			key, label, fingerprint)
	}
	if !strings.HasSuffix(k.GetHref(), "/ssh-keys/"+k.GetId()) || k.Entity == nil || k.Entity.GetHref() == "" ||
		k.CreatedAt == nil || k.UpdatedAt == nil {
		t.Fatalf("got %+v", k)
	}
	if len(k.AdditionalProperties) != 0 {
		t.Fatalf("SSHKey properties outside the schema: %v", k.AdditionalProperties)
	}
}

// checkEvent asserts the Event schema's properties: uuid id, href, type, body, created_at, and relationships
// that are Hrefs (whose href is required).
func checkEvent(t *testing.T, ev metal.Event) {
	t.Helper()
	wantUUID(t, "event id", ev.GetId())
	if ev.GetType() == "" || ev.GetBody() == "" || ev.CreatedAt == nil || ev.GetHref() == "" {
		t.Fatalf("got %+v", ev)
	}
	for _, r := range ev.Relationships {
		if r.GetHref() == "" {
			t.Fatalf("relationship without href in %+v", ev)
		}
	}
	if len(ev.AdditionalProperties) != 0 {
		t.Fatalf("Event properties outside the schema: %v", ev.AdditionalProperties)
	}
}

// TestSDKAccount covers the account routes: /user, /organizations, /ssh-keys, /projects/{id}/ssh-keys,
// /events, /projects/{id}/events, /devices/{id}/events and /projects/{id}/hardware-reservations.
func TestSDKAccount(t *testing.T) {
	e := mustEnv(t)
	c := sdkClient(e, e.apiKey)
	ctx := context.Background()
	s := &steps{t: t}
	var user *metal.User
	var orgID string
	var key *metal.SSHKey
	var keyLine, keyFingerprint string
	var device *metal.Device
	var eventsBefore int

	s.run("user/get-current", func(t *testing.T) {
		u, _, err := c.UsersApi.FindCurrentUser(ctx).Execute()
		check(t, err, "FindCurrentUser")
		wantUUID(t, "user id", u.GetId())
		if !strings.Contains(u.GetEmail(), "@") || u.CreatedAt == nil || u.GetHref() == "" ||
			len(u.AdditionalProperties) != 0 {
			t.Fatalf("got %+v", u)
		}
		user = u
	})
	s.run("user/bad-key-401", func(t *testing.T) {
		_, resp, err := sdkClient(e, "not-a-key").UsersApi.FindCurrentUser(ctx).Execute()
		wantSDKError(t, err, resp, 401, "")
	})
	s.run("organizations/list", func(t *testing.T) {
		p, _, err := c.ProjectsApi.FindProjectById(ctx, e.projectID).Execute()
		check(t, err, "FindProjectById")
		href := p.Organization.GetHref()
		orgID = href[strings.LastIndex(href, "/")+1:]
		orgs, _, err := c.OrganizationsApi.FindOrganizations(ctx).Execute()
		check(t, err, "FindOrganizations")
		for _, o := range orgs.Organizations {
			wantUUID(t, "organization id", o.GetId())
			if o.GetId() == orgID && o.GetName() != "" {
				return
			}
		}
		t.Fatalf("the project's organization %s is not among %d", orgID, len(orgs.Organizations))
	})
	s.run("organizations/get", func(t *testing.T) {
		o, _, err := c.OrganizationsApi.FindOrganizationById(ctx, orgID).Execute()
		check(t, err, "FindOrganizationById")
		if o.GetId() != orgID || o.GetName() == "" || o.CreatedAt == nil || len(o.AdditionalProperties) != 0 {
			t.Fatalf("got %+v", o)
		}
		for _, p := range o.Projects {
			if strings.HasSuffix(p.GetHref(), "/projects/"+e.projectID) {
				return
			}
		}
		t.Fatalf("organization projects %+v lack %s", o.Projects, e.projectID)
	})
	s.run("organizations/get-404", func(t *testing.T) {
		_, resp, err := c.OrganizationsApi.FindOrganizationById(ctx, "00000000-0000-4000-8000-00000000dead").Execute()
		wantSDKError(t, err, resp, 404, "")
	})
	s.run("ssh-keys/create", func(t *testing.T) {
		keyLine, keyFingerprint = newPublicKey(t, "sdk@conformance").pair()
		in := metal.NewSSHKeyCreateInput()
		in.SetKey(keyLine)
		in.SetLabel("sdk-key")
		in.Tags = []string{"conformance"}
		k, resp, err := c.SSHKeysApi.CreateSSHKey(ctx).SSHKeyCreateInput(*in).Execute()
		check(t, err, "CreateSSHKey")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("want 201, got %d", resp.StatusCode)
		}
		checkSSHKey(t, k, keyLine, "sdk-key", keyFingerprint)
		if !strings.HasSuffix(k.Entity.GetHref(), "/users/"+user.GetId()) || strings.Join(k.Tags, ",") != "conformance" {
			t.Fatalf("a user key should belong to the user %s: entity %+v tags %v", user.GetId(), k.Entity, k.Tags)
		}
		key = k
	})
	s.run("ssh-keys/create-422-bad-key", func(t *testing.T) {
		in := metal.NewSSHKeyCreateInput()
		in.SetKey("not an ssh key")
		in.SetLabel("bad")
		_, resp, err := c.SSHKeysApi.CreateSSHKey(ctx).SSHKeyCreateInput(*in).Execute()
		wantSDKError(t, err, resp, 422, "key")
	})
	s.run("ssh-keys/list", func(t *testing.T) {
		ks, _, err := c.SSHKeysApi.FindSSHKeys(ctx).Execute()
		check(t, err, "FindSSHKeys")
		for i := range ks.SshKeys {
			if ks.SshKeys[i].GetId() == key.GetId() {
				checkSSHKey(t, &ks.SshKeys[i], keyLine, "sdk-key", keyFingerprint)
				return
			}
		}
		t.Fatalf("key %s not among %d", key.GetId(), len(ks.SshKeys))
	})
	s.run("ssh-keys/get", func(t *testing.T) {
		k, _, err := c.SSHKeysApi.FindSSHKeyById(ctx, key.GetId()).Execute()
		check(t, err, "FindSSHKeyById")
		checkSSHKey(t, k, keyLine, "sdk-key", keyFingerprint)
	})
	s.run("ssh-keys/update-label", func(t *testing.T) {
		in := metal.NewSSHKeyInput()
		in.SetLabel("sdk-key-renamed")
		k, _, err := c.SSHKeysApi.UpdateSSHKey(ctx, key.GetId()).SSHKeyInput(*in).Execute()
		check(t, err, "UpdateSSHKey")
		checkSSHKey(t, k, keyLine, "sdk-key-renamed", keyFingerprint)
	})
	s.run("ssh-keys/update-key", func(t *testing.T) {
		line, fp := newPublicKey(t, "rotated@conformance").pair()
		in := metal.NewSSHKeyInput()
		in.SetKey(line)
		k, _, err := c.SSHKeysApi.UpdateSSHKey(ctx, key.GetId()).SSHKeyInput(*in).Execute()
		check(t, err, "UpdateSSHKey")
		checkSSHKey(t, k, line, "sdk-key-renamed", fp)
		keyLine, keyFingerprint = line, fp
	})
	s.run("ssh-keys/delete", func(t *testing.T) {
		resp, err := c.SSHKeysApi.DeleteSSHKey(ctx, key.GetId()).Execute()
		check(t, err, "DeleteSSHKey")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("want 204, got %d", resp.StatusCode)
		}
		_, resp, err = c.SSHKeysApi.FindSSHKeyById(ctx, key.GetId()).Execute()
		wantSDKError(t, err, resp, 404, "")
	})
	s.run("project-ssh-keys/create", func(t *testing.T) {
		line, fp := newPublicKey(t, "project@conformance").pair()
		in := metal.NewSSHKeyCreateInput()
		in.SetKey(line)
		in.SetLabel("project-key")
		k, _, err := c.SSHKeysApi.CreateProjectSSHKey(ctx, e.projectID).SSHKeyCreateInput(*in).Execute()
		check(t, err, "CreateProjectSSHKey")
		checkSSHKey(t, k, line, "project-key", fp)
		if !strings.HasSuffix(k.Entity.GetHref(), "/projects/"+e.projectID) {
			t.Fatalf("a project key should belong to the project: entity %+v", k.Entity)
		}
		key = k
	})
	s.run("project-ssh-keys/list", func(t *testing.T) {
		ks, _, err := c.SSHKeysApi.FindProjectSSHKeys(ctx, e.projectID).Execute()
		check(t, err, "FindProjectSSHKeys")
		if len(ks.SshKeys) != 1 || ks.SshKeys[0].GetId() != key.GetId() || len(ks.AdditionalProperties) != 0 {
			t.Fatalf("want just the project key %s, got %+v", key.GetId(), ks.SshKeys)
		}
	})
	s.run("events/project-before", func(t *testing.T) {
		evs, _, err := c.EventsApi.FindProjectEvents(ctx, e.projectID).Execute()
		check(t, err, "FindProjectEvents")
		for _, ev := range evs.Events {
			checkEvent(t, ev)
		}
		if evs.Meta == nil || evs.Events == nil {
			t.Fatalf("want an events list with meta, got %+v", evs)
		}
		eventsBefore = len(evs.Events)
	})
	s.run("events/device-create-and-power-off", func(t *testing.T) {
		in := metal.NewDeviceCreateInMetroInput("sv", "ubuntu_24_04", "c3.small.x86")
		in.SetHostname("sdk-events")
		d, _, err := c.DevicesApi.CreateDevice(ctx, e.projectID).
			CreateDeviceRequest(metal.CreateDeviceRequest{DeviceCreateInMetroInput: in}).Execute()
		check(t, err, "CreateDevice")
		device = d
		waitState(t, func() (string, error) {
			d, _, err := c.DevicesApi.FindDeviceById(ctx, device.GetId()).Execute()
			return string(d.GetState()), err
		}, "active")
		_, err = c.DevicesApi.PerformAction(ctx, device.GetId()).
			DeviceActionInput(*metal.NewDeviceActionInput(metal.DEVICEACTIONINPUTTYPE_POWER_OFF)).Execute()
		check(t, err, "PerformAction power_off")
		waitState(t, func() (string, error) {
			d, _, err := c.DevicesApi.FindDeviceById(ctx, device.GetId()).Execute()
			return string(d.GetState()), err
		}, "inactive")
	})
	s.run("events/project", func(t *testing.T) {
		evs, err := c.EventsApi.FindProjectEvents(ctx, e.projectID).PerPage(1).ExecuteWithPagination()
		check(t, err, "FindProjectEvents.ExecuteWithPagination")
		for _, ev := range evs.Events {
			checkEvent(t, ev)
		}
		if len(evs.Events) < eventsBefore+2 {
			t.Fatalf("want the device's create and power_off events, got %d after %d", len(evs.Events), eventsBefore)
		}
	})
	s.run("events/device", func(t *testing.T) {
		evs, _, err := c.EventsApi.FindDeviceEvents(ctx, device.GetId()).Execute()
		check(t, err, "FindDeviceEvents")
		if len(evs.Events) < 2 {
			t.Fatalf("want the create and power_off events, got %d", len(evs.Events))
		}
		for _, ev := range evs.Events {
			checkEvent(t, ev)
			related := false
			for _, r := range ev.Relationships {
				related = related || strings.HasSuffix(r.GetHref(), "/devices/"+device.GetId())
			}
			if !related {
				t.Fatalf("device event %+v does not relate to the device", ev)
			}
		}
	})
	s.run("events/all", func(t *testing.T) {
		evs, _, err := c.EventsApi.FindEvents(ctx).Execute()
		check(t, err, "FindEvents")
		if len(evs.Events) < 2 {
			t.Fatalf("got %d events", len(evs.Events))
		}
		for _, ev := range evs.Events {
			checkEvent(t, ev)
		}
	})
	s.run("events/device-404", func(t *testing.T) {
		_, resp, err := c.EventsApi.FindDeviceEvents(ctx, "00000000-0000-4000-8000-00000000dead").Execute()
		wantSDKError(t, err, resp, 404, "")
	})
	s.run("hardware-reservations/list-project", func(t *testing.T) {
		hs, _, err := c.HardwareReservationsApi.FindProjectHardwareReservations(ctx, e.projectID).Execute()
		check(t, err, "FindProjectHardwareReservations")
		if hs.HardwareReservations == nil || hs.Meta == nil || len(hs.AdditionalProperties) != 0 {
			t.Fatalf("want a hardware_reservations list with meta, got %+v", hs)
		}
		for _, h := range hs.HardwareReservations {
			wantUUID(t, "hardware reservation id", h.GetId())
			if h.Plan == nil || h.Facility == nil || h.CreatedAt == nil || len(h.AdditionalProperties) != 0 {
				t.Fatalf("got %+v", h)
			}
		}
	})
	s.run("cleanup", func(t *testing.T) {
		_, err := c.DevicesApi.DeleteDevice(ctx, device.GetId()).Execute()
		check(t, err, "DeleteDevice")
		_, err = c.SSHKeysApi.DeleteSSHKey(ctx, key.GetId()).Execute()
		check(t, err, "DeleteSSHKey")
	})
}
