// Ready-to-paste calls of one model in curl, Python (requests) and JavaScript (fetch).

const TOKEN = "np_live_YOUR_TOKEN";

export function samples(baseUrl, slug) {
  const url = `${baseUrl}/api/vision/${slug}`;
  return {
    curl: `curl -X POST ${url} \\
  -H "Authorization: Bearer ${TOKEN}" \\
  -F "image=@photo.jpg"

# or an image on the web:
curl -X POST ${url} \\
  -H "Authorization: Bearer ${TOKEN}" \\
  -H "Content-Type: application/json" \\
  -d '{"url": "https://example.com/photo.jpg"}'`,
    python: `import requests

with open("photo.jpg", "rb") as image:
    response = requests.post(
        "${url}",
        headers={"Authorization": "Bearer ${TOKEN}"},
        files={"image": image},
        timeout=60,
    )
if not response.ok:
    raise SystemExit(response.json()["error"]["message"])
answer = response.json()
print(answer["credits_remaining"], "credits left")
print(answer["results"])`,
    javascript: `// Node 20+ (in a browser, append a File from an <input type="file"> instead)
import { openAsBlob } from "node:fs";

const form = new FormData();
form.append("image", await openAsBlob("photo.jpg"), "photo.jpg");

const response = await fetch("${url}", {
  method: "POST",
  headers: { Authorization: "Bearer ${TOKEN}" },
  body: form,
});
const answer = await response.json();
if (!response.ok) throw new Error(answer.error.message);
console.log(answer.credits_remaining, "credits left");
console.log(answer.results);`,
  };
}

// What "results" looks like for each output kind (lib/vision/types.py).
export const RESULT_EXAMPLES = {
  labels: { labels: [{ label: "dog", score: 0.93 }, { label: "pet", score: 0.88 }] },
  boxes: { objects: [{ label: "person", score: 0.91, box: { x0: 58, y0: 96, x1: 282, y1: 460 } }] },
  polygons: { objects: [{ label: "person", score: 0.9, box: { x0: 58, y0: 96, x1: 282, y1: 460 }, polygon: [[58, 120], [170, 96], [282, 300], [160, 460]] }] },
  text: { text: "OPEN\n9am to 5pm", lines: [{ text: "OPEN", score: 0.98, polygon: [[40, 30], [200, 30], [200, 80], [40, 80]] }] },
  keypoints: { people: [{ score: 0.89, keypoints: [{ name: "nose", x: 320, y: 88, score: 0.97 }] }], skeleton: [["left_shoulder", "right_shoulder"]] },
  image: { image: "data:image/png;base64,iVBORw0KGgo..." },
};
