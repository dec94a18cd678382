package sqlite

import (
	"context"
	"errors"

	"github.com/claudebench/cb/daemon/store/internal/model"
)

// errNotYet marks the attachment methods the store helper implements.
var errNotYet = errors.New("sqlite: attachments not implemented yet")

// AttachmentPut implements store.Store.
func (s *Store) AttachmentPut(ctx context.Context, a model.Attachment, max int) (model.Attachment, error) {
	return model.Attachment{}, errNotYet
}

// AttachmentList implements store.Store.
func (s *Store) AttachmentList(ctx context.Context, taskIDs []string, key string) ([]model.Attachment, error) {
	return nil, errNotYet
}
