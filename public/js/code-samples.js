// Ready-to-paste calls of one model in curl, the Python client, Python (requests) and JavaScript (fetch).

const TOKEN = "np_live_YOUR_TOKEN";

// What the Python client's typed result offers for each output kind (clients/python/src/nexuspoint/results.py).
const CLIENT_READS = {
  labels: `print(result.top.label, result.top.score)`,
  boxes: `for found in result.objects:
    print(found.label, found.score, found.box)`,
  polygons: `for found in result.objects:
    print(found.label, found.score, len(found.polygon), "points")`,
  text: `print(result.text)`,
  keypoints: `for person in result.people:
    print(person.score, [(k.name, k.x, k.y) for k in person.keypoints])`,
  image: `result.save("cutout.png")  # the PNG with a transparent background`,
};

export function samples(baseUrl, slug, output) {
  const url = `${baseUrl}/api/vision/${slug}`;
  return {
    client: `# pip install ./clients/python   (the official client, from the NexusPoint repository)
from nexuspoint import Client, APIError

client = Client(api_key="${TOKEN}", base_url="${baseUrl}")
try:
    result = client.${slug.replaceAll("-", "_")}("photo.jpg")  # a path, bytes, a file or an https:// URL
except APIError as error:
    raise SystemExit(f"{error.code}: {error.message}")
${CLIENT_READS[output] || "print(result.results)"}
print(result.credits_charged, "charged,", result.credits_remaining, "credits left")

# A whole folder from the shell, with a progress bar; a second run skips what is done:
#   nexuspoint predict ${slug} photos/ -j 8 -o results.jsonl`,
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
