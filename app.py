"""The Gradio chat app for SME staff: ``python app.py [--host 127.0.0.1] [--port 7860]``."""

from assistant.app.ui import main

if __name__ == "__main__":
    main()
