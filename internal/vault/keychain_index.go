// The account index: the item listing every stored account, so that List
// reads no secret; kept a superset of the stored accounts.

package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// index is the stored account list.
type index struct {
	V        int      `json:"v"`
	Accounts []string `json:"accounts"`
}

func (k *Keychain) readIndex(ctx context.Context, locked bool) ([]string, error) {
	data, err := k.readBlob(ctx, indexItem, locked)
	if errors.Is(err, ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("account index: %w", err)
	}
	var ix index
	if err := json.Unmarshal(data, &ix); err != nil {
		return nil, newClassError(ErrCorrupt, nil, "account index does not decode (%s)", jsonProblem(err))
	}
	if ix.V != 1 {
		return nil, newClassError(ErrCorrupt, nil, "account index version %d is not supported", ix.V)
	}
	names := slices.Clone(ix.Accounts)
	slices.Sort(names)
	return slices.Compact(names), nil
}

// indexAdd records account in the index. A corrupt index is replaced.
func (k *Keychain) indexAdd(ctx context.Context, account string) error {
	names, err := k.readIndex(ctx, true)
	if errors.Is(err, ErrCorrupt) {
		names, err = nil, nil
	}
	if err != nil {
		return err
	}
	if slices.Contains(names, account) {
		return nil
	}
	return k.writeIndex(ctx, append(names, account))
}

func (k *Keychain) indexRemove(ctx context.Context, account string) error {
	names, err := k.readIndex(ctx, true)
	if err != nil {
		return err
	}
	i := slices.Index(names, account)
	if i < 0 {
		return nil
	}
	return k.writeIndex(ctx, slices.Delete(names, i, i+1))
}

func (k *Keychain) writeIndex(ctx context.Context, names []string) error {
	if len(names) == 0 {
		if err := k.deleteBlob(ctx, indexItem); err != nil {
			return fmt.Errorf("account index: %w", err)
		}
		return nil
	}
	slices.Sort(names)
	data, err := json.Marshal(index{V: 1, Accounts: names})
	if err != nil {
		return err
	}
	if err := k.writeBlob(ctx, indexItem, data); err != nil {
		return fmt.Errorf("account index: %w", err)
	}
	return nil
}
