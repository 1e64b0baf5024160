package channelsim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

// userBody renders a valid user body with the given id.
func userBody(b []byte, id int64) []byte {
	b = append(b[:0], `{"channel_user_id":"U`...)
	b = strconv.AppendInt(b, id, 10)
	return append(b, `","name":"张三","id_card":"11010519491231002X","phone":"13800138000",`+
		`"live_certification":{"certified":true,"certification_time":"2024-01-15T10:30:00Z","face_score":95.5}}`...)
}

func benchToken(b *testing.B, sim *channelsim.Server) string {
	b.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/token",
		bytes.NewReader([]byte(`{"appkey":"channel_001","secret":"your_secret_key","grant_type":"client_credentials"}`)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	var env struct {
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Data.AccessToken == "" {
		b.Fatalf("token: %v %s", err, rec.Body.Bytes())
	}
	return env.Data.AccessToken
}

// BenchmarkCreateUser measures POST /users: through the handler alone
// (the simulator's own cost) and over loopback HTTP (the "wire limit" a
// worker can at best reach against it).
func BenchmarkCreateUser(b *testing.B) {
	b.Run("Handler", func(b *testing.B) {
		sim := channelsim.New(channelsim.Config{})
		auth := "Bearer " + benchToken(b, sim)
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var body []byte
			for pb.Next() {
				body = userBody(body, next.Add(1))
				req := httptest.NewRequest(http.MethodPost, "/api/v1/users", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", auth)
				rec := httptest.NewRecorder()
				sim.ServeHTTP(rec, req)
				if !bytes.HasPrefix(rec.Body.Bytes(), []byte(`{"code":0,`)) {
					b.Errorf("create: %s", rec.Body.Bytes())
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})

	b.Run("HTTP", func(b *testing.B) {
		sim := channelsim.New(channelsim.Config{})
		srv := httptest.NewServer(sim)
		defer srv.Close()
		auth := "Bearer " + benchToken(b, sim)
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		url := srv.URL + "/api/v1/users"
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var body []byte
			var buf bytes.Buffer
			for pb.Next() {
				body = userBody(body, next.Add(1))
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					b.Errorf("request: %v", err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", auth)
				resp, err := client.Do(req)
				if err != nil {
					b.Errorf("create: %v", err)
					return
				}
				buf.Reset()
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.HasPrefix(buf.Bytes(), []byte(`{"code":0,`)) {
					b.Errorf("create: %v %s", err, buf.Bytes())
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
