package httpapi

import "github.com/claudebench/cb/internal/apitoken"

// LoadOrCreateToken returns the API token kept in the file at path,
// creating it on first start (see apitoken.LoadOrCreate).
func LoadOrCreateToken(path string) (string, error) {
	return apitoken.LoadOrCreate(path)
}
