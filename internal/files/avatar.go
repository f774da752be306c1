package files

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/file"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// Avatar returns the public URL of the avatar fileID names, which must be
// the viewer's own upload of kind avatar; anything else (another user's
// file, an image, no such file) is BAD_USER_INPUT FILE_INVALID on field.
// Profiles, groups and rooms all name their avatars this way, so the rule
// lives here once: an avatar is always a public file uploaded to this
// server, never a private file whose signed URL every viewer would then
// hold.
func (s *Service) Avatar(ctx context.Context, fileID int, field string) (string, error) {
	uid := viewer.UserID(ctx)
	if uid == 0 {
		return "", apperr.SignIn()
	}
	f, err := s.db(ctx).File.Get(ctx, fileID)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return "", fmt.Errorf("files: load avatar: %w", err)
	case f.OwnerID == uid && f.Kind == file.KindAvatar && f.Public:
		return publicPath(f), nil
	}
	return "", apperr.Input(apperr.ReasonFileInvalid, field, "give the id of an avatar you uploaded (uploadFile with kind avatar)")
}

// AvatarURL checks an avatar given as a URL, the older form of the profile
// inputs, and returns what to store. It accepts only an empty string (no
// avatar), the public URL of an avatar the viewer uploaded here (stored in
// its canonical form, whatever query it came with), or an http(s) URL on a
// host of Options.AvatarHosts. Anything else, such as another user's
// private file URL with its signed token, or an arbitrary external image
// that would track everyone who sees the profile, is BAD_USER_INPUT
// AVATAR_INVALID on field.
func (s *Service) AvatarURL(ctx context.Context, raw, field string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", avatarInvalid(field)
	}
	if u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/") {
		id, ok := fileIDOf(u.Path)
		if !ok {
			return "", avatarInvalid(field)
		}
		got, err := s.Avatar(ctx, id, field)
		if e, ok := apperr.As(err); ok && e.Reason == apperr.ReasonFileInvalid {
			return "", avatarInvalid(field)
		}
		return got, err
	}
	if (u.Scheme == "https" || u.Scheme == "http") && u.User == nil && u.Host != "" &&
		AvatarHostAllowed(s.opts.AvatarHosts, u.Hostname()) {
		return u.String(), nil
	}
	return "", avatarInvalid(field)
}

func avatarInvalid(field string) error {
	return apperr.Input(apperr.ReasonAvatarInvalid, field,
		"an avatar must be an avatar you uploaded here (give avatarFileId) or an image on an allowed host")
}

// fileIDOf reads the file id of a download path, /files/{id} or
// /files/{id}/{name}.
func fileIDOf(path string) (int, bool) {
	rest, ok := strings.CutPrefix(path, "/files/")
	if !ok {
		return 0, false
	}
	idPart, _, _ := strings.Cut(rest, "/")
	id, err := strconv.Atoi(idPart)
	return id, err == nil && id > 0 && strconv.Itoa(id) == idPart
}

// AvatarHostAllowed reports whether host is on the allow-list of external
// avatar hosts: an entry matches that host exactly, and an entry
// "*.example.com" matches every subdomain of example.com. Comparison
// ignores case; an empty list allows no host.
func AvatarHostAllowed(hosts []string, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "":
		case strings.HasPrefix(h, "*."):
			if strings.HasSuffix(host, h[1:]) && len(host) > len(h)-1 {
				return true
			}
		case h == host:
			return true
		}
	}
	return false
}
