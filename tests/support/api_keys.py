"""The API key the test apps know, at every level: writes need one (api/edge/keys.py)."""

TEST_KEY = 'test-key-0123456789abcdef'
TEST_KEYS = f'tests:{TEST_KEY}'  # API_KEYS as the app reads it: name:key
KEY_HEADER = {'Authorization': f'Bearer {TEST_KEY}'}
